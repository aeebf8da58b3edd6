"""How a remote embedding provider fails, sorted into "try again" and "will never work".

The sorting decides what happens to a document: :class:`~ragline_common.errors.UpstreamUnavailable`
(rate limited, server error, timeout, unreachable, once retries are spent) becomes a delayed
retry of the whole message in ``settle()``, while the two errors here are permanent
(:class:`~ragline_common.errors.PermanentProcessingError`): retrying a bad key, an unknown
model or a provider that answers with vectors of the wrong size only burns the retry budget,
so the document fails at once with a reason an operator can act on.
"""

from __future__ import annotations

import re

from ragline_common.errors import PermanentProcessingError

# The wait parser moved to ragline_common.retry_after (the chat model reads it too); still
# importable here for the provider's tests until they import it from there.
from ragline_common.retry_after import retry_after_s as retry_after_s

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Besides every 5xx: request timeout, a lock conflict (OpenAI asks to retry it), rate limit."""

_ERROR_CODE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
"""A provider's machine-readable error code (``invalid_api_key``), safe to repeat in a reason."""


class EmbeddingRejected(PermanentProcessingError):
    """The provider refused the request itself (4xx other than 408, 409 and 429)."""

    code = "embedding_rejected"
    title = "The embedding provider rejected the request"


class EmbeddingResponseInvalid(PermanentProcessingError):
    """The provider answered, but not with one unit-normalisable vector of the expected size
    per input: such vectors must never reach the vector store."""

    code = "embedding_response_invalid"
    title = "The embedding provider's answer is unusable"


def is_retryable(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_STATUSES


def rejection(status: int, *, model: str, provider_code: object) -> EmbeddingRejected:
    """The error for a refused request, naming what to fix, never echoing the response body
    (a provider may quote the key it refused)."""
    match status:
        case 401:
            what = "refused the API key"
        case 403:
            what = f"does not let this API key use model {model!r}"
        case 404:
            what = f"has no model {model!r} (or the base URL has no /embeddings endpoint)"
        case _:
            what = "rejected the request"
    reason = f"the embedding provider {what} (HTTP {status}"
    if isinstance(provider_code, str) and _ERROR_CODE.fullmatch(provider_code):
        reason += f", {provider_code}"
    return EmbeddingRejected(reason + ")")
