"""The queue-drop message, version 1: the public contract of ``docs/queue-contract.md``.

This model and ``docs/queue-contract.schema.json`` describe the same message; tests validate
examples with both. Unlike internal envelopes, the message is strict (``extra="forbid"``): it
comes from outside, and a misspelt field must be refused, not silently dropped, exactly as a REST
request body is.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragline_common.contracts.metadata import Metadata
from ragline_common.errors import PermanentProcessingError
from ragline_common.topology import INTAKE_API_KEY_HEADER
from ragline_gateway.domain.content_types import (
    TEXT_CONTENT_TYPES,
    content_mismatch,
    content_type_for,
    safe_source_name,
)
from ragline_gateway.domain.document_fields import DocumentText, ExternalId, Title
from ragline_gateway.domain.uploads import content_hash
from ragline_gateway.ports.catalog import DocumentDraft

SCHEMA_V1 = "ragline.intake.document.v1"
HEADER_API_KEY = INTAKE_API_KEY_HEADER
"""AMQP header carrying the producer's tenant API key."""

ENVELOPE_ALLOWANCE_BYTES = 64 * 1024
"""Room for title, metadata and JSON syntax beside the (base64) document in one message."""

_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def max_message_bytes(max_upload_bytes: int) -> int:
    """Largest message body worth parsing: the document in base64 plus the envelope."""
    return -(-max_upload_bytes // 3) * 4 + ENVELOPE_ALLOWANCE_BYTES


class IntakeDocumentV1(BaseModel):
    """One document for a tenant's index, as inline text or as a base64 file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_id: Literal["ragline.intake.document.v1"] = Field(alias="schema")
    title: Title
    text: DocumentText | None = Field(default=None, pattern=r"\S")
    content_base64: str | None = Field(default=None, min_length=4, pattern=_BASE64)
    filename: str | None = Field(default=None, min_length=1, max_length=255)
    content_type: str | None = None
    metadata: Metadata = Field(default_factory=dict)
    external_id: ExternalId | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        """An absent field and ``null`` are not the same thing in the schema; refuse ``null``."""
        if isinstance(data, dict):
            nulls = sorted(str(key) for key, value in data.items() if value is None)
            if nulls:
                raise ValueError(f"leave out fields instead of sending null: {', '.join(nulls)}")
        return data

    @model_validator(mode="after")
    def _one_form_of_content(self) -> Self:
        if (self.text is None) == (self.content_base64 is None):
            raise ValueError("send exactly one of 'text' or 'content_base64'")
        if self.content_base64 is not None and self.filename is None:
            raise ValueError("'filename' is required with 'content_base64'")
        if self.text is not None and self.filename is not None:
            raise ValueError("'filename' goes with 'content_base64', not with 'text'")
        if self.content_base64 is not None and self.content_type is not None:
            raise ValueError("'content_type' applies to 'text'; a file's type is its extension")
        if self.content_type is not None and self.content_type not in TEXT_CONTENT_TYPES:
            raise ValueError(
                f"'content_type' must be one of {', '.join(sorted(TEXT_CONTENT_TYPES))}"
            )
        return self


def upload_of(message: IntakeDocumentV1, *, max_upload_bytes: int) -> tuple[DocumentDraft, bytes]:
    """The upload a valid message asks for, under the same type and size rules as REST."""
    if message.text is not None:
        content = message.text.encode("utf-8")
        content_type = message.content_type or "text/plain"
        extension = ".md" if content_type == "text/markdown" else ".txt"
        source_name = f"{safe_source_name(message.title)}{extension}"
    else:
        assert message.content_base64 is not None  # the model validator guarantees one form
        try:
            content = base64.b64decode(message.content_base64, validate=True)
        except binascii.Error:
            raise PermanentProcessingError(
                "content_base64: not valid base64", code="invalid_message"
            ) from None
        source_name = safe_source_name(message.filename)
        found_type = content_type_for(source_name)
        if found_type is None:
            raise PermanentProcessingError(
                f"'{source_name}' is not a supported document type.",
                code="unsupported_document_type",
            )
        content_type = found_type
        mismatch = content_mismatch(content_type, content)
        if mismatch is not None:
            raise PermanentProcessingError(
                f"'{source_name}': {mismatch}", code="content_type_mismatch"
            )
        if not content.strip():
            raise PermanentProcessingError("the file is empty", code="empty_document")
    if len(content) > max_upload_bytes:
        raise PermanentProcessingError(
            f"the document has {len(content)} bytes; at most {max_upload_bytes} are accepted",
            code="payload_too_large",
        )
    draft = DocumentDraft(
        title=message.title,
        source_name=source_name,
        content_type=content_type,
        content_hash=content_hash(content),
        size_bytes=len(content),
        metadata=message.metadata,
        external_id=message.external_id,
    )
    return draft, content
