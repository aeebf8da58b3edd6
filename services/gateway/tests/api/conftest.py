"""Fixtures for the gateway API tests (helpers live in gw_harness)."""

from gw_harness import client, gateway_settings, peers

__all__ = ["client", "gateway_settings", "peers"]
