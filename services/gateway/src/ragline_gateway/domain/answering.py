"""Answering a question from a tenant's documents: the one use-case behind ``POST /v1/query``
and ``POST /v1/chat/completions``.

Both doors run the same steps: search what the reader may see (:func:`visible_search`), have
generation answer from those hits, whole or streamed, and bill the tokens exactly once. They
differ only in what they read and how they write the result (Ragline's format, OpenAI's), which
is the routes' business. A conversation adds one step before the search: generation restates
the last question with the turns before it, since a follow-up searches poorly on its own.
The search reads one index model, the active one when the answer starts (ADR 0018).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

from ragline_common.contracts.answer import (
    Answer,
    AnswerApi,
    AnswerEvent,
    AnswerRequest,
    RewriteRequest,
)
from ragline_common.contracts.search import SearchApi, SearchQuery
from ragline_common.errors import NotFound, UpstreamUnavailable
from ragline_common.tenancy import TenantId
from ragline_gateway.domain.reindex import IndexModels
from ragline_gateway.domain.reindex_reads import pinned
from ragline_gateway.domain.usage import UsageLedger, billed, record_usage
from ragline_gateway.domain.visibility import CurrentVersions, visible_search


class AnsweringCatalog(CurrentVersions, UsageLedger, Protocol):
    """What answering needs of the catalog: which versions readers see, and the usage totals."""


@dataclass(frozen=True)
class AnswerStream:
    """A streamed answer whose first event (the numbered sources) has already arrived.

    The first event is awaited before the response starts, so a refused question or an
    unavailable hop is an ordinary error response with its status code; only what fails later
    has to travel inside the stream. ``rest`` is billed (:func:`billed`): whoever renders it
    must close it, which records what was spent if the client leaves early.
    """

    first: AnswerEvent
    rest: AsyncGenerator[AnswerEvent, None]


class Answering:
    def __init__(
        self,
        search: SearchApi,
        answers: AnswerApi,
        catalog: AnsweringCatalog,
        indexes: IndexModels | None = None,
    ) -> None:
        """``indexes`` None: retrieval's default index (a gateway without reindexing)."""
        self._search = search
        self._answers = answers
        self._catalog = catalog
        self._indexes = indexes

    async def answer(self, tenant_id: TenantId, query: SearchQuery, model: str | None) -> Answer:
        """The whole answer to ``query.query``, grounded in what the search finds, billed."""
        answer = await self._answers.answer(
            tenant_id, await self._grounded(tenant_id, query, model)
        )
        await record_usage(
            self._catalog, tenant_id, answer.usage, mode=answer.mode, degraded=answer.degraded
        )
        return answer

    async def stream(
        self, tenant_id: TenantId, query: SearchQuery, model: str | None
    ) -> AnswerStream:
        """The answer as events, once its first one has arrived (see :class:`AnswerStream`)."""
        request = await self._grounded(tenant_id, query, model)
        events = billed(self._catalog, tenant_id, self._answers.stream(tenant_id, request))
        try:
            first = await anext(events)
        except StopAsyncIteration as exc:
            raise UpstreamUnavailable("Generation returned an empty answer stream.") from exc
        return AnswerStream(first=first, rest=events)

    async def restate(self, tenant_id: TenantId, request: RewriteRequest) -> str:
        """The question of a conversation as it should be searched, its tokens billed.

        The model is checked first: a conversation names one, and an unknown name is refused
        before anything is spent on the restatement or the search.
        """
        available = await self._answers.models()
        if request.model not in {model.id for model in available.models}:
            raise NotFound(f"The model {request.model!r} is not available.", code="model_not_found")
        rewritten = await self._answers.rewrite(tenant_id, request)
        usage = rewritten.usage
        if usage.prompt_tokens > 0 or usage.completion_tokens > 0:
            # Tokens, not an answer: the answer that follows is the one counted.
            await record_usage(
                self._catalog, tenant_id, usage, mode="llm", degraded=False, count_answer=False
            )
        return rewritten.question

    async def _grounded(
        self, tenant_id: TenantId, query: SearchQuery, model: str | None
    ) -> AnswerRequest:
        search = await pinned(self._search, self._indexes)
        found = await visible_search(search, self._catalog, tenant_id, query)
        return AnswerRequest(question=query.query, chunks=found.results, model=model)
