"""Shared foundation of every Ragline service.

Settings, messages, tenancy, errors, observability and the ports (with their shared adapters).
"""
