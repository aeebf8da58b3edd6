from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from ragline_common.observability.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging binds the (captured) stderr: undo it so later tests log normally."""
    handlers = logging.getLogger().handlers[:]
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    logging.getLogger().handlers[:] = handlers


def test_json_logs_redact_secrets_and_carry_trace_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="info", fmt="json", service="test")
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work") as span:
        structlog.get_logger().info(
            "key_created", api_key="rl_secret", authorization="Bearer x", tenant_id="t1"
        )
        expected_trace = format(span.get_span_context().trace_id, "032x")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "key_created"
    assert line["api_key"] == "[redacted]" and line["authorization"] == "[redacted]"
    assert line["tenant_id"] == "t1"
    assert line["trace_id"] == expected_trace
    assert line["service"] == "test"
    assert "rl_secret" not in json.dumps(line)
