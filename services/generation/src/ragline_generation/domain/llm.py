"""The configured language model and the bookkeeping around every call to it.

Three paths call the model (a whole answer, a streamed one, a question rewrite) and each must
consult the circuit breaker, count the outcome, open the GenAI span and price the tokens the
same way; holding that here keeps the three from drifting apart.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from dataclasses import dataclass

import structlog

from ragline_common.contracts.answer import Usage
from ragline_common.tenancy import TenantId
from ragline_generation.domain.breaker import CircuitBreaker
from ragline_generation.domain.pricing import cost_micro_usd, usd
from ragline_generation.domain.tokens import TokenCounter
from ragline_generation.genai import LlmCall, llm_call
from ragline_generation.metrics import LLM_CALLS, LLM_CIRCUIT_OPEN
from ragline_generation.ports.chat_model import ChatModel, ChatModelError, ChatUsage
from ragline_generation.settings import LlmSettings

_log = structlog.get_logger(__name__)

CIRCUIT_OPEN = "circuit_open"
CIRCUIT_OPEN_REASON = f"llm_{CIRCUIT_OPEN}"
"""The degraded reason of an answer given extractively because the breaker was open."""


@dataclass(frozen=True)
class Llm:
    """The configured model and how to call it."""

    model: ChatModel
    settings: LlmSettings
    breaker: CircuitBreaker

    def circuit_open(self) -> bool:
        """Whether the breaker refuses this call (counted, so dashboards see the refusals)."""
        if self.breaker.allow():
            return False
        LLM_CALLS.labels(self.model.model_id, CIRCUIT_OPEN).inc()
        return True

    def failed(self, exc: ChatModelError) -> str:
        """Count a failed call against the breaker; the degraded reason an answer carries."""
        self.breaker.failed()
        LLM_CALLS.labels(self.model.model_id, exc.reason).inc()
        LLM_CIRCUIT_OPEN.labels(self.model.model_id).set(self.breaker.state != "closed")
        _log.warning("llm_call_failed", reason=exc.reason, model=self.model.model_id)
        return f"llm_{exc.reason}"

    def succeeded(self) -> None:
        self.breaker.succeeded()
        LLM_CALLS.labels(self.model.model_id, "ok").inc()
        LLM_CIRCUIT_OPEN.labels(self.model.model_id).set(0)

    def call(self, tenant_id: TenantId) -> AbstractContextManager[LlmCall]:
        """The shared GenAI span and per-tenant token and cost metrics around one model call."""
        return llm_call(
            provider="openai",
            model=self.model.model_id,
            tenant_id=tenant_id,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
        )

    def priced(self, usage: ChatUsage) -> Usage:
        micro = cost_micro_usd(
            self.settings.prices, self.model.model_id, usage.prompt_tokens, usage.completion_tokens
        )
        return Usage(
            model=self.model.model_id,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            estimated_cost_usd=usd(micro),
        )

    def usage(
        self,
        reported: ChatUsage | None,
        *,
        prompt_tokens: int,
        completion: str,
        counter: TokenCounter,
    ) -> Usage:
        """What the server reported, else our own count: some servers report no usage."""
        if reported is None:
            reported = ChatUsage(
                prompt_tokens=prompt_tokens, completion_tokens=count_tokens(counter, completion)
            )
        return self.priced(reported)


def count_tokens(counter: TokenCounter, text: str) -> int:
    """Tokens of ``text``, without asking the tokenizer about an empty string."""
    return counter.count(text) if text else 0


def record(call: LlmCall, usage: Usage, response_model: str) -> None:
    call.record_usage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        response_model=response_model,
        cost_usd=usage.estimated_cost_usd,
    )


def end_call(scope: AbstractContextManager[LlmCall], failure: BaseException | None) -> None:
    """Leave a call scope entered by hand (it spans the yields of a stream)."""
    if failure is None:
        scope.__exit__(None, None, None)
        return
    with contextlib.suppress(BaseException):
        scope.__exit__(type(failure), failure, failure.__traceback__)
