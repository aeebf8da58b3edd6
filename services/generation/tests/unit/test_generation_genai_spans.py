"""LLM calls as GenAI spans (OpenTelemetry's GenAI semantic conventions) with token and cost
metrics per tenant: what the generation service reports for every model call."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from ragline_common.observability import metrics
from ragline_generation import genai
from ragline_testing.harness import recording_spans


def sample(name: str, labels: dict[str, str]) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_llm_calls_follow_the_genai_conventions(monkeypatch: pytest.MonkeyPatch) -> None:
    input_labels = {"model": "unit-model", "direction": "input", "tenant": "t-7"}
    cost_labels = {"model": "unit-model", "tenant": "t-7"}
    tokens_before = sample("ragline_llm_tokens_total", input_labels)
    cost_before = sample("ragline_llm_cost_usd_total", cost_labels)

    with recording_spans(monkeypatch, genai) as spans:
        with genai.llm_call(
            provider="openai", model="unit-model", tenant_id="t-7", max_tokens=64
        ) as call:
            call.record_usage(
                input_tokens=120,
                output_tokens=30,
                response_model="unit-model-2025",
                finish_reasons=["stop"],
                cost_usd=0.002,
            )
        with (
            pytest.raises(TimeoutError),
            genai.llm_call(provider="openai", model="unit-model", tenant_id="t-7"),
        ):
            raise TimeoutError
        ok, failed = spans.exporter.get_finished_spans()

    assert ok.name == "chat unit-model" and ok.kind is SpanKind.CLIENT
    attributes = dict(ok.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "unit-model"
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.response.model"] == "unit-model-2025"
    assert attributes["gen_ai.usage.input_tokens"] == 120
    assert attributes["gen_ai.usage.output_tokens"] == 30
    assert attributes["tenant.id"] == "t-7"
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "TimeoutError"
    assert sample("ragline_llm_tokens_total", input_labels) == tokens_before + 120
    assert sample("ragline_llm_cost_usd_total", cost_labels) == pytest.approx(cost_before + 0.002)
