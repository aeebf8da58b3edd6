"""Answer composition; depends on the contracts and ports only."""
