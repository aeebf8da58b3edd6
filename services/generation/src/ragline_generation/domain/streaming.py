"""The model's answer as a stream of events, billed as it goes.

A stream is harder than a whole answer in three ways, all handled here: the model call goes out
while the sources event travels (prefetch); every event carries the usage so far, because a
client may go away before ``done`` and the gateway bills its last figure; and a model that fails
before its first token is replaced by the extractive answer, while one that fails mid-sentence
can only end the stream with an ``error`` event.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

from ragline_common.contracts.answer import (
    AnswerEvent,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Usage,
)
from ragline_common.errors import UpstreamUnavailable
from ragline_common.problem import problem_body
from ragline_common.tenancy import TenantId
from ragline_generation.domain.citations import CitationChecker
from ragline_generation.domain.fallback import ExtractiveFallback, link_guard
from ragline_generation.domain.llm import Llm, count_tokens, end_call, record
from ragline_generation.domain.prefetch import Prefetched
from ragline_generation.domain.prompt import Prompt
from ragline_generation.domain.tokens import TokenCounter
from ragline_generation.metrics import LLM_FIRST_TOKEN
from ragline_generation.ports.chat_model import ChatModelError, ChatUsage


async def model_events(
    llm: Llm,
    tenant_id: TenantId,
    *,
    question: str,
    prompt: Prompt,
    sources: CitationsEvent,
    fallback: ExtractiveFallback,
    counter: TokenCounter,
) -> AsyncGenerator[AnswerEvent, None]:
    """``sources``, the model's checked deltas, then ``done`` (or the fallback, or ``error``).

    The caller has checked the circuit breaker. Closing the iterator early cancels the call.
    """
    guard = link_guard(prompt)
    checker = CitationChecker(block.index for block in prompt.blocks)
    reported: ChatUsage | None = None
    counted = 0  # completion tokens so far, by the tokenizer (the model reports at the end)
    started = time.perf_counter()
    verdict = False
    call_scope = llm.call(tenant_id)
    call = call_scope.__enter__()
    failure: BaseException | None = None

    def so_far() -> Usage:
        """Every event carries this: a stream cut off before ``done`` is billed for it."""
        return llm.priced(
            reported or ChatUsage(prompt_tokens=prompt.tokens, completion_tokens=counted)
        )

    # The model call goes out now, while the sources event travels to the client.
    deltas = Prefetched(
        llm.model.stream(
            prompt.messages,
            max_tokens=llm.settings.max_tokens,
            temperature=llm.settings.temperature,
        )
    )
    try:
        yield sources
        async for delta in deltas:
            if delta.usage is not None:
                reported = delta.usage
            if not delta.text:
                continue
            if not counted:
                LLM_FIRST_TOKEN.labels(llm.model.model_id).observe(time.perf_counter() - started)
            # Piece by piece: recounting the whole text per token would be quadratic.
            counted += max(1, count_tokens(counter, delta.text))
            checked = checker.feed(guard.feed(delta.text))
            if checked:
                yield DeltaEvent(text=checked, usage=so_far())
        usage = so_far()
        rest = checker.feed(guard.flush()) + checker.flush()
        if rest:
            yield DeltaEvent(text=rest, usage=usage)
        record(call, usage, llm.model.model_id)
        verdict = True
        llm.succeeded()
    except ChatModelError as exc:
        verdict = True
        failure = exc
        reason = llm.failed(exc)
        if not counted:
            async for event in fallback.events(question, prompt, reason):
                yield event
            return
        spent = so_far()
        record(call, spent, llm.model.model_id)
        problem = UpstreamUnavailable(
            "The language model failed in the middle of the answer.", code="llm_failed"
        )
        yield ErrorEvent(problem=problem_body(problem), usage=spent)
        return
    except BaseException as exc:  # closed early (GeneratorExit) or cancelled
        failure = exc
        raise
    finally:
        await deltas.aclose()
        if not verdict:
            # Closed early because the client went away: neither success nor failure,
            # but the tokens so far were spent (the gateway bills its last ``so_far``).
            llm.breaker.abandoned()
            record(call, so_far(), llm.model.model_id)
        end_call(call_scope, failure)
    yield DoneEvent(cited=checker.cited, mode="llm", usage=usage)
