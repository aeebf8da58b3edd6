"""Adapters shared by more than one service, each importing its technology only when chosen."""
