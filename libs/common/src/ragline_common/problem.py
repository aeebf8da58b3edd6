"""RFC 9457 problem+json rendering, installed once on every FastAPI app.

Client errors say what was wrong and carry a stable ``code``; server errors never echo exception
text (it may hold internals or secrets) and always carry the ``trace_id`` to look them up.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragline_common.errors import QuotaExceeded, RaglineError, RateLimited, UpstreamUnavailable
from ragline_common.observability.tracing import current_trace_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def problem_fields(*, status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    """The problem+json body; also sent inside a stream that fails after its headers went out."""
    return {
        "type": f"https://ragline.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "trace_id": current_trace_id(),
    }


def problem_body(exc: BaseException) -> dict[str, Any]:
    """What a response for ``exc`` would carry; unexpected errors never echo their text."""
    if isinstance(exc, RaglineError):
        return problem_fields(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail)
    return problem_fields(
        status=500,
        code="internal_error",
        title="Internal error",
        detail="An unexpected error occurred; report the trace_id.",
    )


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = problem_fields(status=status, code=code, title=title, detail=detail)
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def retry_headers(exc: RaglineError) -> dict[str, str] | None:
    """The headers that tell a client when to retry after ``exc`` (rate limit, outage, quota)."""
    if isinstance(exc, RateLimited):
        return {**exc.headers, "Retry-After": str(max(1, round(exc.retry_after_s)))}
    if isinstance(exc, UpstreamUnavailable):
        return {"Retry-After": str(max(1, round(exc.retry_after_s)))}
    if isinstance(exc, QuotaExceeded) and exc.retry_after_s is not None:
        return {"Retry-After": str(max(1, round(exc.retry_after_s)))}
    return None


async def _ragline_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RaglineError)
    if exc.status >= 500:
        _log.warning("request_failed_upstream", code=exc.code, detail=exc.detail)
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=retry_headers(exc),
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    return problem_response(
        status=422,
        code="validation_failed",
        title="Request is not valid",
        detail="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)[:2000],
        extra={"errors": errors},
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
    return problem_response(
        status=exc.status_code,
        code=code,
        title=code.replace("_", " ").capitalize(),
        detail=detail,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    _log.error("request_crashed", exc_info=exc)
    return problem_response(
        status=500,
        code="internal_error",
        title="Internal error",
        detail="The server failed to handle this request; quote the trace_id when reporting it.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RaglineError, _ragline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
