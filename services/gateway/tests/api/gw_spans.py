"""Recording the gateway's spans in memory, for tests of which trace a job travels in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragline_common.observability import messaging
from ragline_gateway.domain import job_trace


@dataclass
class Recorder:
    tracer: trace.Tracer
    exporter: InMemorySpanExporter

    def named(self, name: str) -> ReadableSpan:
        [span] = [s for s in self.exporter.get_finished_spans() if s.name == name]
        return span


def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """Route the consumer and dispatch spans (and the test's own) to one in-memory exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    monkeypatch.setattr(messaging, "_tracer", tracer)
    monkeypatch.setattr(job_trace, "_tracer", tracer)
    yield Recorder(tracer, exporter)
    provider.shutdown()
