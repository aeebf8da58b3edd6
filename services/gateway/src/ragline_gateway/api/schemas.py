"""Request and response bodies of the public API.

Requests are strict (``extra="forbid"``): a misspelt field is an error, not silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Json, JsonValue, field_validator

from ragline_common.contracts.answer import Citation, Usage
from ragline_common.contracts.characters import NulFree
from ragline_common.contracts.metadata import MAX_KEYS, Metadata
from ragline_common.contracts.search import SearchHit, StoredChunk
from ragline_common.messages import JobStatus
from ragline_common.tenancy import Scope
from ragline_gateway.domain.document_fields import MAX_TITLE_CHARS as MAX_TITLE_CHARS
from ragline_gateway.domain.document_fields import DocumentText, ExternalId, Title
from ragline_gateway.ports.catalog import ApiKeyRecord, DocumentRecord, JobRecord, TenantRecord

MAX_METADATA_KEYS = MAX_KEYS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantCreate(_Strict):
    name: Annotated[str, NulFree] = Field(min_length=1, max_length=200)


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, record: TenantRecord) -> TenantOut:
        return cls.model_validate(record, from_attributes=True)


class KeyCreate(_Strict):
    name: Annotated[str, NulFree] = Field(default="default", min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)
    expires_at: datetime | None = None


class KeyOut(BaseModel):
    id: str
    tenant_id: str
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    replaced_by: str | None = Field(default=None, description="Set on a rotated key")

    @field_validator("scopes")
    @classmethod
    def _in_one_order(cls, scopes: list[Scope]) -> list[Scope]:
        """A record holds its scopes as a set: listed sorted, a key reads the same every time."""
        return sorted(scopes)

    @classmethod
    def of(cls, record: ApiKeyRecord) -> KeyOut:
        return cls.model_validate(record, from_attributes=True)


class KeyCreated(KeyOut):
    key: str = Field(description="The secret key. Shown once; store it now.")


class TextDocumentCreate(_Strict):
    text: DocumentText
    title: Title = "Untitled"
    metadata: Metadata = Field(default_factory=dict)
    external_id: ExternalId | None = None
    content_type: str = Field(default="text/plain", pattern=r"^text/(plain|markdown)$")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must contain something other than whitespace")
        return value


class UploadFormFields(_Strict):
    """The text fields of a multipart upload, held to the JSON body's types and rules.

    ``metadata`` arrives as JSON text and is parsed by pydantic's own parser, whose nesting
    limit makes absurd depth a validation error rather than a ``RecursionError``.
    """

    title: Title | None = None
    metadata: Json[Metadata] = Field(default_factory=dict)
    external_id: ExternalId | None = None


class UploadAccepted(BaseModel):
    document_id: str
    job_id: str
    version: int
    status: JobStatus
    duplicate: bool = Field(description="True when identical content was already submitted")


class DocumentOut(BaseModel):
    id: str
    external_id: str | None
    title: str
    source_name: str
    content_type: str
    content_hash: str
    size_bytes: int
    version: int
    metadata: dict[str, JsonValue]
    status: JobStatus
    chunk_count: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: DocumentRecord) -> DocumentOut:
        return cls.model_validate(record, from_attributes=True)


class DocumentList(BaseModel):
    documents: list[DocumentOut]
    next_offset: int | None


class JobOut(BaseModel):
    id: str
    document_id: str
    version: int
    status: JobStatus
    reason: str | None
    chunk_count: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: JobRecord) -> JobOut:
        return cls.model_validate(record, from_attributes=True)


class SearchOut(BaseModel):
    results: list[SearchHit]
    mode: str


class QueryOut(BaseModel):
    answer: str
    citations: list[Citation]
    mode: str
    degraded: bool
    degraded_reason: str | None
    usage: Usage


class ChunkList(BaseModel):
    """One page of the chunks searches currently show for a document."""

    document_id: str
    version: int | None = Field(description="The indexed version listed; null before indexing")
    chunks: list[StoredChunk]
    next_offset: int | None
