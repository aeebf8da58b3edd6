"""LLM call spans and metrics following the OpenTelemetry GenAI semantic conventions.

One helper for every chat adapter, so the span name (``chat <model>``), kind (CLIENT), the
``gen_ai.*`` attributes and the token and cost metrics cannot drift between providers. Prompt
and completion text are never recorded: they hold tenant documents.

Usage, in an adapter::

    with llm_call(provider="openai", model=settings.model, tenant_id=tenant_id) as call:
        response = await client.chat.completions.create(...)
        call.record_usage(
            input_tokens=response.usage.prompt_tokens,
            output_tokens=response.usage.completion_tokens,
            response_model=response.model,
            finish_reasons=[choice.finish_reason for choice in response.choices],
            cost_usd=prices.cost(response.usage),
        )

An exception escaping the block marks the span as an error and counts the call as ``error``;
it is re-raised unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.trace import SpanKind, Status, StatusCode

from ragline_common.observability.metrics import LLM_COST, LLM_LATENCY, LLM_TOKENS, tenant_label
from ragline_common.observability.tracing import TENANT_ATTRIBUTE

_tracer = trace.get_tracer("ragline.genai")


@dataclass
class LlmCall:
    """Handle of one in-flight LLM call: record what the provider reported."""

    span: trace.Span
    model: str
    tenant: str

    def record_usage(
        self,
        *,
        input_tokens: int | None,
        output_tokens: int | None,
        response_model: str | None = None,
        finish_reasons: Sequence[str] = (),
        cost_usd: float | None = None,
    ) -> None:
        if input_tokens is not None:
            self.span.set_attribute(gen_ai.GEN_AI_USAGE_INPUT_TOKENS, input_tokens)
            LLM_TOKENS.labels(self.model, "input", self.tenant).inc(input_tokens)
        if output_tokens is not None:
            self.span.set_attribute(gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens)
            LLM_TOKENS.labels(self.model, "output", self.tenant).inc(output_tokens)
        if response_model:
            self.span.set_attribute(gen_ai.GEN_AI_RESPONSE_MODEL, response_model)
        if finish_reasons:
            self.span.set_attribute(gen_ai.GEN_AI_RESPONSE_FINISH_REASONS, list(finish_reasons))
        if cost_usd is not None:
            self.span.set_attribute("ragline.llm.cost_usd", cost_usd)
            LLM_COST.labels(self.model, self.tenant).inc(cost_usd)


@contextmanager
def llm_call(
    *,
    provider: str,
    model: str,
    tenant_id: str,
    operation: str = "chat",
    max_tokens: int | None = None,
    temperature: float | None = None,
) -> Iterator[LlmCall]:
    """A CLIENT span named ``<operation> <model>`` around one LLM request, plus its metrics."""
    attributes: dict[str, str | int | float] = {
        gen_ai.GEN_AI_OPERATION_NAME: operation,
        gen_ai.GEN_AI_PROVIDER_NAME: provider,
        gen_ai.GEN_AI_REQUEST_MODEL: model,
        TENANT_ATTRIBUTE: tenant_id,
    }
    if max_tokens is not None:
        attributes[gen_ai.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    if temperature is not None:
        attributes[gen_ai.GEN_AI_REQUEST_TEMPERATURE] = temperature
    started = time.perf_counter()
    outcome = "error"
    with _tracer.start_as_current_span(
        f"{operation} {model}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=True,
        set_status_on_exception=True,
    ) as span:
        try:
            yield LlmCall(span=span, model=model, tenant=tenant_label(tenant_id))
            outcome = "ok"
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR))
            raise
        finally:
            LLM_LATENCY.labels(model, outcome).observe(time.perf_counter() - started)
