"""Ports: the small Protocols every adapter implements.

Each data-touching method takes ``tenant_id`` as a required argument, so tenant scoping is part of
the signature and cannot be forgotten by a caller.
"""
