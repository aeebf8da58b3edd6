"""Ragline retrieval service."""
