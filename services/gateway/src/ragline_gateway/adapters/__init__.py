"""Gateway adapters (technology-named)."""
