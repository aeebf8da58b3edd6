"""Ports only the gateway uses: the catalog it owns and the rate limiter of its front door."""
