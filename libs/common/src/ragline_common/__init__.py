"""Shared foundation of every Ragline service: settings, messages, tenancy, errors, observability, ports."""
