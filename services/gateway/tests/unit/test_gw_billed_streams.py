"""``billed``: a streamed answer's usage lands in the catalog exactly once, however it ends."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime

import anyio

from ragline_common.contracts.answer import (
    AnswerEvent,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Usage,
)
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.domain.usage import billed


def _usage(completion: int) -> Usage:
    return Usage(model="m", prompt_tokens=100, completion_tokens=completion)


def _deltas(count: int) -> list[AnswerEvent]:
    return [DeltaEvent(text=f" w{n}", usage=_usage(n + 1)) for n in range(count)]


async def _events(script: list[AnswerEvent]) -> AsyncGenerator[AnswerEvent, None]:
    yield CitationsEvent(citations=[])
    for event in script:
        yield event
    await anyio.sleep_forever()  # a model still generating when the consumer stops


async def _tokens_and_requests(catalog: SqlCatalog, tenant: TenantId) -> tuple[int, int]:
    today = datetime.now(UTC).date()
    rows = await catalog.usage_between(tenant, first_day=today, last_day=today)
    return await catalog.tokens_used_on(tenant, today), sum(row.requests for row in rows)


async def test_a_finished_answer_is_recorded_once_from_done(sqlite_catalog: SqlCatalog) -> None:
    tenant = TenantId((await sqlite_catalog.create_tenant("acme")).id)
    done = DoneEvent(cited=[], mode="llm", usage=_usage(9))
    async with aclosing(billed(sqlite_catalog, tenant, _events([*_deltas(3), done]))) as events:
        async for event in events:
            if event.event == "done":
                break  # the client leaves right after the last event

    assert await _tokens_and_requests(sqlite_catalog, tenant) == (109, 1)


async def test_a_hang_up_or_a_failure_is_recorded_once_from_the_last_usage(
    sqlite_catalog: SqlCatalog,
) -> None:
    tenant = TenantId((await sqlite_catalog.create_tenant("acme")).id)
    seen = 0
    async with aclosing(billed(sqlite_catalog, tenant, _events(_deltas(5)))) as events:
        async for event in events:
            seen += event.event == "delta"
            if seen == 3:
                break
    failed = ErrorEvent(problem={"code": "llm_failed"}, usage=_usage(4))
    with anyio.move_on_after(0.2):  # the stream is cancelled while it waits for the model
        async for _ in billed(sqlite_catalog, tenant, _events([*_deltas(2), failed])):
            pass

    # 100 + 3 for the hang-up after three deltas, 100 + 4 for the failure.
    assert await _tokens_and_requests(sqlite_catalog, tenant) == (207, 2)


async def test_a_stream_without_model_tokens_records_nothing(sqlite_catalog: SqlCatalog) -> None:
    tenant = TenantId((await sqlite_catalog.create_tenant("acme")).id)
    with anyio.move_on_after(0.2):
        async for _ in billed(sqlite_catalog, tenant, _events([DeltaEvent(text="quoted")])):
            pass

    assert await _tokens_and_requests(sqlite_catalog, tenant) == (0, 0)
