"""Technology-named adapters of the retrieval service's own ports."""
