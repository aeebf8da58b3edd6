"""Typed, versioned message envelopes exchanged over the broker.

Envelopes are frozen and tolerant (``extra="ignore"``): a reader ignores fields added later within
the same version, so producers can evolve additively without breaking older consumers. A breaking
change gets a new ``type`` (``...v2``) and routing key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ragline_common.contracts.metadata import Metadata
from ragline_common.ids import new_id
from ragline_common.tenancy import TenantId


def _now() -> datetime:
    return datetime.now(UTC)


SYSTEM_TENANT_ID = TenantId("_system")
"""The ``tenant_id`` of operator messages that belong to no tenant (``index.drop.v1``).

Real tenant ids are ``ten_<hex>`` (``new_id("ten")``), so this value can never name a tenant;
keeping ``tenant_id`` required on every envelope keeps every other message tenant-scoped."""


class Envelope(BaseModel):
    """Fields every message carries; ``event_id`` doubles as the idempotency key."""

    # Bytes travel as base64 in JSON and stay raw bytes in Python.
    model_config = ConfigDict(
        frozen=True, extra="ignore", ser_json_bytes="base64", val_json_bytes="base64"
    )

    event_id: str = Field(default_factory=lambda: new_id("evt"))
    tenant_id: TenantId
    occurred_at: datetime = Field(default_factory=_now)


class DocumentIngestRequested(Envelope):
    """Ask the ingestion worker to index one version of a document.

    The document bytes travel inline: the worker needs no access to the catalog, which the
    gateway owns (see ADR 0003). The catalog keeps a copy so a lost job can be re-published.
    """

    type: Literal["document.ingest.v1"] = "document.ingest.v1"
    document_id: str
    job_id: str
    version: int = Field(ge=1)
    title: str
    source_name: str
    content_type: str
    content: bytes
    content_hash: str
    metadata: Metadata = Field(default_factory=dict)
    """Under the same rules as at every door, so a job that passed one always has a message."""
    index_models: tuple[str, ...] = ()
    """Model specs (``KIND`` or ``KIND:MODEL``) whose indexes this version is written to; empty
    means the worker's default index, so messages from before reindexing keep working. While a
    reindex builds, uploads name both the active and the building spec."""
    reindex_of: str | None = None
    """Set on a reindex task to its target spec: the worker writes only that index and reports
    with ``JobStatusChanged.index_model`` set, leaving the document's own job status alone."""


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    INDEXED = "indexed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.INDEXED, JobStatus.FAILED)


class JobStatusChanged(Envelope):
    """The worker reports progress; the gateway applies it to the catalog it owns."""

    type: Literal["job.status.v1"] = "job.status.v1"
    job_id: str
    document_id: str
    version: int
    status: JobStatus
    chunk_count: int | None = None
    reason: str | None = None
    index_model: str | None = None
    """Set when the job was a reindex task (its target spec): the gateway counts it towards that
    reindex's progress and does not touch the document's own job status."""
    embedding_tokens: int | None = Field(default=None, ge=0)
    """On ``indexed``: the tokens the job's embeddings spent (the gateway bills them once)."""
    embedding_model: str | None = None
    """On ``indexed``: the embedding model that spent ``embedding_tokens`` (the usage row's key)."""


class DocumentDeleteRequested(Envelope):
    """Remove a document's chunks from the vector store: every version, or the older ones.

    The gateway sends the second form (``keep_version``) once the catalog shows a new version,
    so older chunks go only after searches stopped showing them (ADR 0008). It deletes only
    versions *below* ``keep_version``: a newer one may already be written by a concurrent job,
    and must survive until its own ``indexed`` event prunes what it replaces.
    """

    type: Literal["document.delete.v1"] = "document.delete.v1"
    document_id: str
    keep_version: int | None = None
    index_models: tuple[str, ...] = ()
    """Delete from each of these indexes (model specs); empty means the default index only."""


class TenantDeleteRequested(Envelope):
    """Remove every chunk of a tenant from the vector store (the tenant was erased).

    The gateway sends it after the catalog rows are gone; it is idempotent, and a late index
    of a job already in flight is pruned by the gateway when its status event arrives.
    """

    type: Literal["tenant.delete.v1"] = "tenant.delete.v1"
    index_models: tuple[str, ...] = ()
    """Delete from each of these indexes (model specs); empty means the default index only."""


class IndexDropRequested(Envelope):
    """Drop one model's whole index (collection or shard) once the operator retired it.

    It belongs to no tenant: ``tenant_id`` is :data:`SYSTEM_TENANT_ID`. Dropping is idempotent
    (an index already gone is not an error), so a redelivery is harmless.
    """

    type: Literal["index.drop.v1"] = "index.drop.v1"
    index_model: str


KnownMessage = (
    DocumentIngestRequested
    | JobStatusChanged
    | DocumentDeleteRequested
    | TenantDeleteRequested
    | IndexDropRequested
)
"""Every envelope type Ragline sends over its own exchanges."""

AnyMessage = Annotated[KnownMessage, Field(discriminator="type")]


class _MessageAdapter(BaseModel):
    message: AnyMessage


def parse_message(body: bytes | str) -> KnownMessage:
    """Decode a broker body into its typed envelope (raises ``pydantic.ValidationError``)."""
    import json

    data: Any = json.loads(body)
    return _MessageAdapter.model_validate({"message": data}).message


def encode_message(message: Envelope) -> bytes:
    """Serialise an envelope for the wire (JSON, bytes as base64)."""
    return message.model_dump_json().encode()
