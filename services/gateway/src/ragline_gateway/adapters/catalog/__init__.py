"""The catalog (tenants, keys, documents, jobs) on SQL databases; the gateway owns it."""

from ragline_gateway.adapters.catalog.sql_catalog import SqlCatalog

__all__ = ["SqlCatalog"]
