"""Ragline ingestion service."""
