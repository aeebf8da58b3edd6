"""Ragline gateway service."""
