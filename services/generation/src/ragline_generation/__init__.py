"""Ragline generation service."""
