"""Broker consumers of the ingestion worker (the worker's counterpart of an ``api/`` package)."""
