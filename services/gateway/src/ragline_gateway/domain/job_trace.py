"""An upload's trace travels with its job, so a job published late still joins it (ADR 0013).

The dispatcher publishes a job when its tenant's window has room: often inside the upload
request, but otherwise later, from a job-status event of another upload or from the sweeper.
The upload's W3C context is therefore stored with the job, and the publish is made under a
``gateway.dispatch`` span whose *parent* is that context. Whatever made the late publish happen
(the other upload's status event) is a *link*, not the parent: it is a cause, not the work's
owner, and a parent there would put this upload's worker spans in someone else's trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

from ragline_common.observability.tracing import extract_context, inject_context
from ragline_gateway.ports.catalog import JobRecord, TraceContext

_tracer = trace.get_tracer("ragline.gateway.dispatch")

MAX_TRACESTATE_CHARS = 512
"""What W3C asks every hop to keep; a longer ``tracestate`` (producer-written, on the intake
queue) is dropped rather than stored, the ``traceparent`` alone keeps the trace together."""


def current_trace() -> TraceContext | None:
    """The context of the current span, to be stored with a job; None outside any trace."""
    headers = inject_context()
    traceparent = headers.get("traceparent")
    if not traceparent:
        return None
    tracestate = headers.get("tracestate") or None
    if tracestate is not None and len(tracestate) > MAX_TRACESTATE_CHARS:
        tracestate = None
    return TraceContext(traceparent=traceparent, tracestate=tracestate)


@contextlib.contextmanager
def dispatch_span(job: JobRecord) -> Iterator[trace.Span]:
    """The span a job is published in: a child of its upload's stored context.

    A job without stored context (created before the catalog kept it) is a child of the
    current context, as before. The current span, when it belongs to another trace, becomes a
    link, so an operator can still see which event freed the slot.
    """
    trigger = trace.get_current_span().get_span_context()
    parent = None
    links: list[Link] = []
    if job.trace is not None:
        carrier = {"traceparent": job.trace.traceparent}
        if job.trace.tracestate:
            carrier["tracestate"] = job.trace.tracestate
        parent = extract_context(carrier)
        upload = trace.get_current_span(parent).get_span_context()
        if trigger.is_valid and trigger.trace_id != upload.trace_id:
            links.append(Link(trigger))
    waited_s = max(0.0, (datetime.now(UTC) - job.created_at).total_seconds())
    with _tracer.start_as_current_span(
        "gateway.dispatch",
        context=parent,
        kind=SpanKind.INTERNAL,
        links=links,
        attributes={
            "tenant.id": str(job.tenant_id),
            "ragline.job.id": job.id,
            "ragline.document.id": job.document_id,
            "ragline.job.waited_s": round(waited_s, 3),
        },
    ) as span:
        yield span
