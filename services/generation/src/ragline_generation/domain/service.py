"""``AnswerApi`` in-process: prompt, model call, citation check, and the extractive fallback.

With no model configured (the embedded default) or ``model="extractive"``, answers are
extractive. Otherwise the model answers, and the extractive answerer stands in when the model
fails before its first token or the circuit breaker is open: the answer then carries
``degraded=True`` and the reason (``llm_<failure>``). A model that fails after tokens went out
cannot be replaced mid-sentence; the stream ends with an ``error`` event instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import anyio
import structlog
from opentelemetry import trace

from ragline_common.contracts.answer import (
    Answer,
    AnswerEvent,
    AnswerRequest,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    ModelInfo,
    ModelList,
    RewriteRequest,
    RewrittenQuestion,
    Usage,
)
from ragline_common.contracts.search import MAX_QUERY_CHARS, MAX_TOP_K
from ragline_common.errors import NotFound, UpstreamUnavailable, ValidationFailed
from ragline_common.problem import problem_body
from ragline_common.tenancy import TenantId
from ragline_generation.domain.breaker import CircuitBreaker
from ragline_generation.domain.citations import CitationChecker, citation, cited_citations
from ragline_generation.domain.extractive import (
    EXTRACTIVE_MODEL,
    NO_INFORMATION_ANSWER,
    ExtractiveAnswerer,
)
from ragline_generation.domain.link_guard import LinkGuard, source_hosts
from ragline_generation.domain.prefetch import Prefetched
from ragline_generation.domain.pricing import cost_micro_usd, usd
from ragline_generation.domain.prompt import Prompt, build_answer_prompt, build_rewrite_prompt
from ragline_generation.domain.tokens import TokenCounter
from ragline_generation.genai import LlmCall, llm_call
from ragline_generation.metrics import LLM_CALLS, LLM_CIRCUIT_OPEN, LLM_FIRST_TOKEN
from ragline_generation.ports.chat_model import ChatModel, ChatModelError, ChatUsage
from ragline_generation.settings import GenerationSettings, LlmSettings

_tracer = trace.get_tracer("ragline.generation")
_log = structlog.get_logger(__name__)

REWRITE_MAX_TOKENS = 96
INLINE_PROMPT_CHARS = 16_000
"""Sources up to this size are assembled on the event loop; larger ones in a worker thread."""
CIRCUIT_OPEN = "circuit_open"


@dataclass(frozen=True)
class Llm:
    """The configured model and how to call it."""

    model: ChatModel
    settings: LlmSettings
    breaker: CircuitBreaker


def _no_usage(model: str = EXTRACTIVE_MODEL) -> Usage:
    return Usage(model=model, prompt_tokens=0, completion_tokens=0)


class AnswerService:
    def __init__(
        self,
        *,
        extractive: ExtractiveAnswerer,
        counter: TokenCounter,
        settings: GenerationSettings,
        llm: Llm | None = None,
    ) -> None:
        self._extractive = extractive
        self._counter = counter
        self._settings = settings
        self._llm = llm

    # models

    async def models(self) -> ModelList:
        extractive = ModelInfo(id=EXTRACTIVE_MODEL, mode="extractive")
        if self._llm is None:
            return ModelList(models=[extractive], default=EXTRACTIVE_MODEL)
        model_id = self._llm.model.model_id
        return ModelList(models=[ModelInfo(id=model_id, mode="llm"), extractive], default=model_id)

    def _llm_for(self, model: str | None) -> Llm | None:
        """The model to call for ``model`` (``None`` means extractive); unknown names are 404."""
        if model is None:
            return self._llm
        if model == EXTRACTIVE_MODEL:
            return None
        if self._llm is not None and model == self._llm.model.model_id:
            return self._llm
        raise NotFound(f"The model {model!r} is not available.", code="model_not_found")

    # answers

    async def _prepare(self, request: AnswerRequest) -> tuple[Llm | None, Prompt]:
        if len(request.chunks) > MAX_TOP_K:
            # The gateway never sends more than top_k hits; anything larger is a bug or abuse.
            raise ValidationFailed(
                f"At most {MAX_TOP_K} chunks can ground one answer.", code="too_many_chunks"
            )
        llm = self._llm_for(request.model)
        arguments = (
            request.question,
            request.chunks,
            self._counter,
            self._settings.prompt_budget_tokens,
        )
        if sum(len(hit.text) for hit in request.chunks) <= INLINE_PROMPT_CHARS:
            # Tokenising this little takes well under a millisecond: a thread hop costs more.
            return llm, build_answer_prompt(*arguments)
        return llm, await anyio.to_thread.run_sync(build_answer_prompt, *arguments)

    async def _extractive_answer(self, question: str, prompt: Prompt, reason: str | None) -> Answer:
        hits = [block.hit for block in prompt.blocks]
        numbers = [block.index for block in prompt.blocks]

        def quoted() -> Answer:
            answer = self._extractive.answer(question, hits, numbers)
            # Quoted documents are untrusted too: a poisoned one may carry the image itself.
            return answer.model_copy(
                update={"answer": _link_guard(prompt).clean_all(answer.answer)}
            )

        # Sentence splitting over up to MAX_TOP_K chunks is CPU work: keep it off the loop.
        answer = await anyio.to_thread.run_sync(quoted)
        if reason is None:
            return answer
        return answer.model_copy(update={"degraded": True, "degraded_reason": reason})

    def _usage(self, llm: Llm, prompt: Prompt, reported: ChatUsage | None, text: str) -> Usage:
        if reported is None:
            reported = ChatUsage(prompt_tokens=prompt.tokens, completion_tokens=self._count(text))
        return _priced(llm, reported)

    def _count(self, text: str) -> int:
        return self._counter.count(text) if text else 0

    def _open_circuit(self, llm: Llm) -> bool:
        if llm.breaker.allow():
            return False
        LLM_CALLS.labels(llm.model.model_id, CIRCUIT_OPEN).inc()
        return True

    def _record_failure(self, llm: Llm, exc: ChatModelError) -> str:
        llm.breaker.failed()
        LLM_CALLS.labels(llm.model.model_id, exc.reason).inc()
        LLM_CIRCUIT_OPEN.labels(llm.model.model_id).set(llm.breaker.state != "closed")
        _log.warning("llm_call_failed", reason=exc.reason, model=llm.model.model_id)
        return f"llm_{exc.reason}"

    def _record_success(self, llm: Llm) -> None:
        llm.breaker.succeeded()
        LLM_CALLS.labels(llm.model.model_id, "ok").inc()
        LLM_CIRCUIT_OPEN.labels(llm.model.model_id).set(0)

    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer:
        llm, prompt = await self._prepare(request)
        with _tracer.start_as_current_span("generation.answer") as span:
            span.set_attribute("ragline.tenant_id", tenant_id)
            span.set_attribute("ragline.answer.chunks", len(prompt.blocks))
            if not prompt.blocks:
                return Answer(
                    answer=NO_INFORMATION_ANSWER, citations=[], mode="extractive", usage=_no_usage()
                )
            if llm is None:
                return await self._extractive_answer(request.question, prompt, None)
            if self._open_circuit(llm):
                return await self._extractive_answer(
                    request.question, prompt, f"llm_{CIRCUIT_OPEN}"
                )
            try:
                with _llm_call(llm, tenant_id) as call:
                    completion = await llm.model.complete(
                        prompt.messages,
                        max_tokens=llm.settings.max_tokens,
                        temperature=llm.settings.temperature,
                    )
                    usage = self._usage(llm, prompt, completion.usage, completion.text)
                    _record(call, usage, completion.model)
            except ChatModelError as exc:
                reason = self._record_failure(llm, exc)
                return await self._extractive_answer(request.question, prompt, reason)
            self._record_success(llm)
            checker = CitationChecker(block.index for block in prompt.blocks)
            text = checker.check_all(_link_guard(prompt).clean_all(completion.text)).strip()
            return Answer(
                answer=text,
                citations=cited_citations(
                    prompt.blocks, checker.cited, self._settings.snippet_chars
                ),
                mode="llm",
                usage=usage,
            )

    async def stream(
        self, tenant_id: TenantId, request: AnswerRequest
    ) -> AsyncGenerator[AnswerEvent, None]:
        llm, prompt = await self._prepare(request)
        sources = CitationsEvent(
            citations=[citation(block, self._settings.snippet_chars) for block in prompt.blocks]
        )
        if not prompt.blocks:
            yield sources
            yield DeltaEvent(text=NO_INFORMATION_ANSWER)
            yield DoneEvent(cited=[], mode="extractive", usage=_no_usage())
            return
        if llm is None or self._open_circuit(llm):
            yield sources
            reason = None if llm is None else f"llm_{CIRCUIT_OPEN}"
            async for event in self._extractive_events(request.question, prompt, reason):
                yield event
            return
        guard = _link_guard(prompt)
        checker = CitationChecker(block.index for block in prompt.blocks)
        reported: ChatUsage | None = None
        counted = 0  # completion tokens so far, by the tokenizer (the model reports at the end)
        started = time.perf_counter()
        verdict = False
        call_scope = _llm_call(llm, tenant_id)
        call = call_scope.__enter__()
        failure: BaseException | None = None

        def so_far() -> Usage:
            """Every event carries this: a stream cut off before ``done`` is billed for it."""
            return _priced(
                llm, reported or ChatUsage(prompt_tokens=prompt.tokens, completion_tokens=counted)
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
                    LLM_FIRST_TOKEN.labels(llm.model.model_id).observe(
                        time.perf_counter() - started
                    )
                # Piece by piece: recounting the whole text per token would be quadratic.
                counted += max(1, self._count(delta.text))
                checked = checker.feed(guard.feed(delta.text))
                if checked:
                    yield DeltaEvent(text=checked, usage=so_far())
            usage = so_far()
            rest = checker.feed(guard.flush()) + checker.flush()
            if rest:
                yield DeltaEvent(text=rest, usage=usage)
            _record(call, usage, llm.model.model_id)
            verdict = True
            self._record_success(llm)
        except ChatModelError as exc:
            verdict = True
            failure = exc
            reason = self._record_failure(llm, exc)
            if not counted:
                async for event in self._extractive_events(request.question, prompt, reason):
                    yield event
                return
            spent = so_far()
            _record(call, spent, llm.model.model_id)
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
                _record(call, so_far(), llm.model.model_id)
            _end_call(call_scope, failure)
        yield DoneEvent(cited=checker.cited, mode="llm", usage=usage)

    async def _extractive_events(
        self, question: str, prompt: Prompt, reason: str | None
    ) -> AsyncGenerator[AnswerEvent, None]:
        answer = await self._extractive_answer(question, prompt, reason)
        yield DeltaEvent(text=answer.answer)
        yield DoneEvent(
            cited=[item.index for item in answer.citations],
            mode="extractive",
            degraded=answer.degraded,
            degraded_reason=answer.degraded_reason,
            usage=answer.usage,
        )

    # follow-up questions

    async def rewrite(self, tenant_id: TenantId, request: RewriteRequest) -> RewrittenQuestion:
        """The question alone when there is no history; else the model's standalone version,
        or (no model, or it failed) the previous user turn followed by the question."""
        if not request.history:
            return RewrittenQuestion(question=request.question, usage=_no_usage())
        llm = self._llm_for(request.model)
        if llm is not None and not self._open_circuit(llm):
            messages = build_rewrite_prompt(request.question, request.history)
            try:
                with _llm_call(llm, tenant_id) as call:
                    completion = await llm.model.complete(
                        messages, max_tokens=REWRITE_MAX_TOKENS, temperature=0.0
                    )
                    estimate = Prompt(
                        messages=(),
                        blocks=(),
                        tokens=sum(self._count(message.content) for message in messages),
                    )
                    usage = self._usage(llm, estimate, completion.usage, completion.text)
                    _record(call, usage, completion.model)
            except ChatModelError as exc:
                self._record_failure(llm, exc)
            else:
                self._record_success(llm)
                question = completion.text.strip().strip("\"'").strip()
                if question and len(question) <= MAX_QUERY_CHARS:
                    return RewrittenQuestion(question=question, usage=usage)
                # Unusable output still cost tokens: the gateway records them anyway.
                return RewrittenQuestion(question=_joined(request), usage=usage)
        return RewrittenQuestion(question=_joined(request), usage=_no_usage())


def _link_guard(prompt: Prompt) -> LinkGuard:
    """Answers may link only to where their sources come from (see ``link_guard``)."""
    return LinkGuard(source_hosts(block.hit for block in prompt.blocks))


def _joined(request: RewriteRequest) -> str:
    """Retrieval query from the last user turn plus the follow-up (no model to rewrite it)."""
    previous = next((t.content for t in reversed(request.history) if t.role == "user"), "")
    joined = f"{previous.strip()} {request.question.strip()}".strip()
    return joined[-MAX_QUERY_CHARS:]


def _llm_call(llm: Llm, tenant_id: TenantId) -> AbstractContextManager[LlmCall]:
    """The shared GenAI span and per-tenant token and cost metrics around one model call."""
    return llm_call(
        provider="openai",
        model=llm.model.model_id,
        tenant_id=tenant_id,
        max_tokens=llm.settings.max_tokens,
        temperature=llm.settings.temperature,
    )


def _priced(llm: Llm, usage: ChatUsage) -> Usage:
    micro = cost_micro_usd(
        llm.settings.prices, llm.model.model_id, usage.prompt_tokens, usage.completion_tokens
    )
    return Usage(
        model=llm.model.model_id,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        estimated_cost_usd=usd(micro),
    )


def _record(call: LlmCall, usage: Usage, response_model: str) -> None:
    call.record_usage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        response_model=response_model,
        cost_usd=usage.estimated_cost_usd,
    )


def _end_call(scope: AbstractContextManager[LlmCall], failure: BaseException | None) -> None:
    """Leave a call scope entered by hand (it spans the yields of a stream)."""
    if failure is None:
        scope.__exit__(None, None, None)
        return
    with contextlib.suppress(BaseException):
        scope.__exit__(type(failure), failure, failure.__traceback__)
