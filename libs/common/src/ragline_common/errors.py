"""One exception tree for the whole suite.

Each error knows its HTTP status and a stable machine-readable ``code``; the HTTP layer renders
it once as problem+json (see :mod:`ragline_common.problem`), and consumers decide ack, retry or
dead-letter from the exception type alone.
"""

from __future__ import annotations

from typing import ClassVar


class RaglineError(Exception):
    """Base of every error Ragline raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]


class ValidationFailed(RaglineError):
    status = 422
    code = "validation_failed"
    title = "Request is not valid"


class BadRequest(RaglineError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class Unauthorized(RaglineError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(RaglineError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(RaglineError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(RaglineError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(RaglineError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(RaglineError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class RateLimited(RaglineError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(
        self,
        detail: str,
        *,
        retry_after_s: float,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, code=code)
        self.retry_after_s = retry_after_s
        self.headers = headers or {}


class QuotaExceeded(RaglineError):
    """A tenant used up a quota (documents, stored bytes, LLM tokens per day).

    ``retry_after_s`` is set when the quota renews by itself (a daily one); a storage quota
    only frees up when the tenant deletes something, so it carries none.
    """

    status = 429
    code = "quota_exceeded"
    title = "Quota exceeded"

    def __init__(
        self, detail: str, *, retry_after_s: float | None = None, code: str | None = None
    ) -> None:
        super().__init__(detail, code=code)
        self.retry_after_s = retry_after_s


class UpstreamUnavailable(RaglineError):
    """A dependency (broker, vector store, model, peer service) cannot serve right now."""

    status = 503
    code = "upstream_unavailable"
    title = "A dependency is unavailable"

    def __init__(self, detail: str, *, retry_after_s: float = 5.0, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after_s = retry_after_s


class PermanentProcessingError(RaglineError):
    """Processing a message can never succeed (bad document, invalid message): dead-letter it.

    ``tenant_id`` is the tenant the handler established for the message, when it got that far:
    the dead letter is filed under it, never under a tenant the message merely claims.
    """

    status = 422
    code = "processing_failed"
    title = "Processing failed"

    def __init__(
        self, detail: str, *, code: str | None = None, tenant_id: str | None = None
    ) -> None:
        super().__init__(detail, code=code)
        self.tenant_id = tenant_id


class TransientProcessingError(RaglineError):
    """Processing may succeed later (a dependency is down): retry with delay."""

    status = 503
    code = "transient_failure"
    title = "Temporary failure"
