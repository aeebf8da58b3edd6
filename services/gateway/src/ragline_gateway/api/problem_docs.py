"""The error answers every public route may give, documented once for the OpenAPI schema.

Without this the schema would promise FastAPI's default ``422`` body (``{"detail": [...]}``),
which the problem+json handler never sends, and leave 401/403/404/429/503 undocumented; schema
tests (``tests/security/test_security_schemathesis.py``) hold the server to what is written.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details with Ragline's stable ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str
    trace_id: str | None = None


_STATUSES = {
    400: "Malformed request",
    401: "Missing, invalid or expired API key",
    403: "The key lacks the scope, or the operator token is required",
    404: "No such resource (or another tenant's)",
    405: "Method not allowed",
    409: "Conflict (for example an Idempotency-Key still in use)",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid request body or parameters",
    429: "Rate limited or quota exceeded (Retry-After when it renews)",
    503: "A dependency is unavailable, or the ingestion backlog is full (Retry-After)",
}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "model": Problem,
    }
    for status, description in _STATUSES.items()
}
