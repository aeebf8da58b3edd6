"""Every streamed delta carries the usage so far, so a stream cut short can still be billed."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest
from llm_harness import REFUNDS, service

from ragline_common.contracts.answer import AnswerRequest, DeltaEvent, DoneEvent, ErrorEvent
from ragline_common.tenancy import TenantId
from ragline_testing.fake_llm import FakeChatServer

TENANT = TenantId("ten_a")
REQUEST = AnswerRequest(question="When are refunds paid?", chunks=REFUNDS)


@pytest.fixture
def fake() -> FakeChatServer:
    """A server that reports no usage: the service counts the tokens itself."""
    return FakeChatServer(report_usage=False)


async def test_deltas_carry_a_growing_usage_and_done_the_whole(
    fake: FakeChatServer, url: str
) -> None:
    events = [event async for event in service(url).stream(TENANT, REQUEST)]

    deltas = [event for event in events if isinstance(event, DeltaEvent)]
    usages = [event.usage for event in deltas if event.usage is not None]
    assert len(usages) == len(deltas) > 3
    assert usages[0].prompt_tokens > 50 and usages[0].estimated_cost_usd > 0
    completions = [usage.completion_tokens for usage in usages]
    assert completions == sorted(completions) and completions[0] < completions[-1]
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.usage == usages[-1]


async def test_the_last_delta_before_a_hang_up_tells_what_was_spent(
    fake: FakeChatServer, url: str
) -> None:
    fake.endless = True
    fake.token_delay_s = 0.01
    seen: list[DeltaEvent] = []
    async with aclosing(service(url).stream(TENANT, REQUEST)) as events:
        async for event in events:
            if isinstance(event, DeltaEvent):
                seen.append(event)
            if len(seen) == 3:
                break

    last = seen[-1].usage
    assert last is not None and last.completion_tokens >= 3 and last.model == "fake-model"
    await asyncio.wait_for(fake.abandoned.wait(), timeout=5)  # the model call was stopped


async def test_a_model_failing_mid_answer_reports_what_it_had_spent(
    fake: FakeChatServer, url: str
) -> None:
    fake.malformed_after_tokens = 3
    events = [event async for event in service(url).stream(TENANT, REQUEST)]

    error = events[-1]
    assert isinstance(error, ErrorEvent) and error.usage is not None
    assert error.usage.completion_tokens >= 3 and error.usage.prompt_tokens > 50
