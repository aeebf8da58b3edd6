"""HTTP routes of the generation service."""
