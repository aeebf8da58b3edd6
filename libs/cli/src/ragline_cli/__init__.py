"""The ragline command."""
