"""Identifier generation.

Public ids carry a short type prefix so that a support engineer can tell a document id from a job
id at a glance. Chunk point ids are UUIDv5 derived from (tenant, document, version, index): a
redelivered job writes the very same points again instead of adding duplicates.
"""

from __future__ import annotations

import secrets
import uuid

from ragline_common.tenancy import TenantId

_CHUNK_NAMESPACE = uuid.UUID("5b0f5f0e-7a53-4d2c-9a59-6c7c1c7f3a11")


def new_id(prefix: str) -> str:
    """Return a random, URL-safe id such as ``doc_3f9c...`` (128 bits of entropy)."""
    return f"{prefix}_{secrets.token_hex(16)}"


def chunk_point_id(tenant_id: TenantId, document_id: str, version: int, index: int) -> str:
    """Deterministic vector-store point id of one chunk of one document version."""
    return str(uuid.uuid5(_CHUNK_NAMESPACE, f"{tenant_id}/{document_id}/{version}/{index}"))
