"""``AnswerApi`` in-process: prompt, model call, citation check, and the extractive fallback.

With no model configured (the embedded default) or ``model="extractive"``, answers are
extractive. Otherwise the model answers, and the extractive answerer stands in when the model
fails before its first token or the circuit breaker is open: the answer then carries
``degraded=True`` and the reason (``llm_<failure>``). A model that fails after tokens went out
cannot be replaced mid-sentence; the stream ends with an ``error`` event instead.

The rooms: :mod:`.llm` holds the bookkeeping around every model call (breaker, metrics, span,
price), :mod:`.fallback` the extractive answer, :mod:`.streaming` the streamed model answer and
:mod:`.rewrite` follow-up questions; this module picks the path for each request.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

import anyio
from opentelemetry import trace

from ragline_common.contracts.answer import (
    Answer,
    AnswerEvent,
    AnswerRequest,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    ModelInfo,
    ModelList,
    RewriteRequest,
    RewrittenQuestion,
)
from ragline_common.contracts.search import MAX_TOP_K
from ragline_common.errors import NotFound, ValidationFailed
from ragline_common.tenancy import TenantId
from ragline_generation.domain.citations import CitationChecker, citation, cited_citations
from ragline_generation.domain.extractive import (
    EXTRACTIVE_MODEL,
    NO_INFORMATION_ANSWER,
    ExtractiveAnswerer,
)
from ragline_generation.domain.fallback import ExtractiveFallback, link_guard, no_usage
from ragline_generation.domain.llm import CIRCUIT_OPEN_REASON, Llm, record
from ragline_generation.domain.prompt import Prompt, build_answer_prompt
from ragline_generation.domain.rewrite import rewrite_question
from ragline_generation.domain.streaming import model_events
from ragline_generation.domain.tokens import TokenCounter
from ragline_generation.ports.chat_model import ChatModelError
from ragline_generation.settings import GenerationSettings

__all__ = ["AnswerService", "Llm"]  # Llm: what the constructor takes, importable beside it

_tracer = trace.get_tracer("ragline.generation")

INLINE_PROMPT_CHARS = 16_000
"""Sources up to this size are assembled on the event loop; larger ones in a worker thread."""


class AnswerService:
    def __init__(
        self,
        *,
        extractive: ExtractiveAnswerer,
        counter: TokenCounter,
        settings: GenerationSettings,
        llm: Llm | None = None,
    ) -> None:
        self._fallback = ExtractiveFallback(extractive)
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

    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer:
        llm, prompt = await self._prepare(request)
        with _tracer.start_as_current_span("generation.answer") as span:
            span.set_attribute("ragline.tenant_id", tenant_id)
            span.set_attribute("ragline.answer.chunks", len(prompt.blocks))
            if not prompt.blocks:
                return Answer(
                    answer=NO_INFORMATION_ANSWER, citations=[], mode="extractive", usage=no_usage()
                )
            if llm is None:
                return await self._fallback.answer(request.question, prompt, None)
            if llm.circuit_open():
                return await self._fallback.answer(request.question, prompt, CIRCUIT_OPEN_REASON)
            try:
                with llm.call(tenant_id) as call:
                    completion = await llm.model.complete(
                        prompt.messages,
                        max_tokens=llm.settings.max_tokens,
                        temperature=llm.settings.temperature,
                    )
                    usage = llm.usage(
                        completion.usage,
                        prompt_tokens=prompt.tokens,
                        completion=completion.text,
                        counter=self._counter,
                    )
                    record(call, usage, completion.model)
            except ChatModelError as exc:
                reason = llm.failed(exc)
                return await self._fallback.answer(request.question, prompt, reason)
            llm.succeeded()
            checker = CitationChecker(block.index for block in prompt.blocks)
            text = checker.check_all(link_guard(prompt).clean_all(completion.text)).strip()
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
            yield DoneEvent(cited=[], mode="extractive", usage=no_usage())
            return
        if llm is None or llm.circuit_open():
            yield sources
            reason = None if llm is None else CIRCUIT_OPEN_REASON
            async for event in self._fallback.events(request.question, prompt, reason):
                yield event
            return
        events = model_events(
            llm,
            tenant_id,
            question=request.question,
            prompt=prompt,
            sources=sources,
            fallback=self._fallback,
            counter=self._counter,
        )
        # Closing this stream must close the model's at once: its cleanup settles the call.
        async with contextlib.aclosing(events):
            async for event in events:
                yield event

    # follow-up questions

    async def rewrite(self, tenant_id: TenantId, request: RewriteRequest) -> RewrittenQuestion:
        """The question alone when there is no history (whatever model it names); else see
        :func:`~ragline_generation.domain.rewrite.rewrite_question`."""
        if not request.history:
            return RewrittenQuestion(question=request.question, usage=no_usage())
        llm = self._llm_for(request.model)
        return await rewrite_question(llm, tenant_id, request, self._counter)
