"""The answering use-case: what it refuses before spending, and that it bills every answer once.

A real (SQLite) catalog keeps the totals; retrieval and generation are scripted fakes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from ragline_common.contracts.answer import (
    Answer,
    AnswerEvent,
    AnswerRequest,
    CitationsEvent,
    DeltaEvent,
    ModelInfo,
    ModelList,
    RewriteRequest,
    RewrittenQuestion,
    Usage,
)
from ragline_common.contracts.search import SearchQuery, SearchResult
from ragline_common.errors import NotFound, UpstreamUnavailable
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.api.sse import answer_events
from ragline_gateway.domain.answering import Answering

MODEL = "fake-model"


class NoHits:
    async def search(self, tenant_id: TenantId, query: SearchQuery) -> SearchResult:
        return SearchResult(results=[], mode="hybrid")


@dataclass
class ScriptedGeneration:
    """Answers with fixed usage; its stream yields ``events`` and then, if set, raises ``crash``."""

    events: list[AnswerEvent] = field(default_factory=list)
    crash: Exception | None = None
    rewrites: list[RewriteRequest] = field(default_factory=list)

    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer:
        usage = Usage(model=MODEL, prompt_tokens=40, completion_tokens=2)
        return Answer(answer="Yes.", citations=[], mode="llm", usage=usage)

    async def stream(
        self, tenant_id: TenantId, request: AnswerRequest
    ) -> AsyncGenerator[AnswerEvent, None]:
        for event in self.events:
            yield event
        if self.crash is not None:
            raise self.crash

    async def rewrite(self, tenant_id: TenantId, request: RewriteRequest) -> RewrittenQuestion:
        self.rewrites.append(request)
        usage = Usage(model=MODEL, prompt_tokens=30, completion_tokens=5)
        return RewrittenQuestion(question="When are refunds paid to children?", usage=usage)

    async def models(self) -> ModelList:
        return ModelList(models=[ModelInfo(id=MODEL, mode="llm")], default=MODEL)


async def _tokens_and_requests(catalog: SqlCatalog, tenant: TenantId) -> tuple[int, int]:
    today = datetime.now(UTC).date()
    rows = await catalog.usage_between(tenant, first_day=today, last_day=today)
    return await catalog.tokens_used_on(tenant, today), sum(row.requests for row in rows)


async def _tenant(catalog: SqlCatalog) -> TenantId:
    return TenantId((await catalog.create_tenant("acme")).id)


QUERY = SearchQuery(query="When are refunds paid?")


async def test_a_whole_answer_is_billed_once(catalog: SqlCatalog) -> None:
    tenant = await _tenant(catalog)
    answering = Answering(NoHits(), ScriptedGeneration(), catalog)

    answer = await answering.answer(tenant, QUERY, MODEL)

    assert answer.answer == "Yes."
    assert await _tokens_and_requests(catalog, tenant) == (42, 1)


async def test_an_unknown_model_is_refused_before_anything_is_spent(catalog: SqlCatalog) -> None:
    tenant = await _tenant(catalog)
    generation = ScriptedGeneration()
    answering = Answering(NoHits(), generation, catalog)

    with pytest.raises(NotFound) as refused:
        await answering.restate(tenant, RewriteRequest(question="And?", history=[], model="gpt"))

    assert refused.value.code == "model_not_found"
    assert generation.rewrites == []
    assert await _tokens_and_requests(catalog, tenant) == (0, 0)


async def test_a_restated_question_bills_its_tokens(catalog: SqlCatalog) -> None:
    tenant = await _tenant(catalog)
    answering = Answering(NoHits(), ScriptedGeneration(), catalog)

    restated = await answering.restate(
        tenant, RewriteRequest(question="And for children?", history=[], model=MODEL)
    )

    assert restated == "When are refunds paid to children?"
    assert (await _tokens_and_requests(catalog, tenant))[0] == 35


async def test_an_empty_answer_stream_is_an_outage_before_the_response_starts(
    catalog: SqlCatalog,
) -> None:
    tenant = await _tenant(catalog)
    answering = Answering(NoHits(), ScriptedGeneration(events=[]), catalog)

    with pytest.raises(UpstreamUnavailable):
        await answering.stream(tenant, QUERY, MODEL)


async def test_a_crash_mid_stream_is_an_error_event_and_what_was_spent_is_billed(
    catalog: SqlCatalog,
) -> None:
    tenant = await _tenant(catalog)
    spent = Usage(model=MODEL, prompt_tokens=50, completion_tokens=3)
    generation = ScriptedGeneration(
        events=[CitationsEvent(citations=[]), DeltaEvent(text="Refunds", usage=spent)],
        crash=RuntimeError("secret internals"),
    )
    stream = await Answering(NoHits(), generation, catalog).stream(tenant, QUERY, MODEL)

    async with aclosing(answer_events(stream)) as events:
        seen = [event async for event in events]

    assert [event.event for event in seen] == ["citations", "delta", "error"]
    problem = seen[-1].problem  # type: ignore[union-attr]
    assert problem["status"] == 500 and problem["code"] == "internal_error"
    assert "secret" not in str(problem)
    assert await _tokens_and_requests(catalog, tenant) == (53, 1)
