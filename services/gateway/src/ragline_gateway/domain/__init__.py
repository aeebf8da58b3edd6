"""Gateway domain logic: depends on ports only."""
