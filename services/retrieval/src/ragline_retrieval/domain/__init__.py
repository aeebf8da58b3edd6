"""Search logic; depends on the ports only."""
