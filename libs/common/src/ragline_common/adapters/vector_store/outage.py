"""How both vector-store adapters report an outage: the engine's words to the log, not the caller.

An ``UpstreamUnavailable`` detail ends up in a 503 problem body (in monolithic mode the public
one), and the engine's or client's exception text names storage paths, hosts, ports and engine
internals. So each adapter logs that text here, once, and raises an error whose detail is one of
the fixed sentences below, with the stable code :data:`CODE`.
"""

from __future__ import annotations

import structlog

from ragline_common.errors import UpstreamUnavailable

CODE = "vector_store_unavailable"

CANNOT_OPEN = "The vector store could not be opened."
NOT_OPEN = "The vector store is not open."
FAILING = "The vector store is unavailable; retry later."
THROTTLED = "The vector store is overloaded; retry later."

_log = structlog.get_logger(__name__)


def store_unavailable(
    detail: str, cause: BaseException | None = None, *, retry_after_s: float = 5.0
) -> UpstreamUnavailable:
    """Log ``cause`` (type and text) and return the outage error callers may see."""
    if cause is not None:
        _log.warning(
            "vector_store_unavailable",
            detail=detail,
            error_type=type(cause).__name__,
            error=str(cause),
        )
    return UpstreamUnavailable(detail, retry_after_s=retry_after_s, code=CODE)
