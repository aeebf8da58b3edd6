"""Model failures on a real loopback server: slow tokens, 429, 500s, malformed chunks, hang-ups."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing

from llm_harness import REFUNDS, TOKEN, internal_app, service, text_of

from ragline_common.clients import HttpAnswerClient
from ragline_common.contracts.answer import AnswerRequest, DoneEvent, ErrorEvent
from ragline_common.tenancy import TenantId
from ragline_testing.fake_llm import FakeChatServer, Refusal
from ragline_testing.harness import serve_asgi

TENANT = TenantId("ten_a")
REQUEST = AnswerRequest(question="When are refunds paid?", chunks=REFUNDS)


async def _events(answers: object, request: AnswerRequest = REQUEST) -> list[object]:
    return [event async for event in answers.stream(TENANT, request)]  # type: ignore[attr-defined]


async def test_a_slow_first_token_within_the_deadline_still_streams(
    fake: FakeChatServer, url: str
) -> None:
    fake.first_token_delay_s = 0.4
    started = time.monotonic()
    first_delta_at = None
    async for event in service(url, first_token_timeout_s=3.0).stream(TENANT, REQUEST):
        if event.event == "delta" and first_delta_at is None:
            first_delta_at = time.monotonic() - started
        last = event

    assert isinstance(last, DoneEvent) and last.mode == "llm" and not last.degraded
    assert first_delta_at is not None and 0.4 <= first_delta_at < 1.5


async def test_a_first_token_past_the_deadline_falls_back_to_extractive(
    fake: FakeChatServer, url: str
) -> None:
    fake.first_token_delay_s = 3.0
    started = time.monotonic()
    events = await _events(service(url, first_token_timeout_s=0.3))
    elapsed = time.monotonic() - started

    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.degraded and done.degraded_reason == "llm_timeout" and done.mode == "extractive"
    assert "[1]" in text_of(events)
    assert elapsed < 2.0
    # The abandoned model stream was closed, not left generating.
    await asyncio.wait_for(fake.abandoned.wait(), timeout=5)


async def test_a_429_is_retried_after_its_retry_after(fake: FakeChatServer, url: str) -> None:
    fake.refusals.append(Refusal(429, retry_after_s=0.5))
    answer = await service(url).answer(TENANT, REQUEST)

    assert answer.mode == "llm" and not answer.degraded
    assert len(fake.requests) == 2
    assert fake.arrivals[1] - fake.arrivals[0] >= 0.5


async def test_a_429_is_retried_after_its_finer_retry_after_ms(
    fake: FakeChatServer, url: str
) -> None:
    fake.refusals.append(Refusal(429, retry_after_s=60, retry_after_ms=300))
    answer = await service(url, max_retry_wait_s=5.0).answer(TENANT, REQUEST)

    assert answer.mode == "llm" and not answer.degraded
    assert len(fake.requests) == 2
    assert 0.3 <= fake.arrivals[1] - fake.arrivals[0] < 5.0


async def test_a_429_asking_for_too_long_a_wait_falls_back_at_once(
    fake: FakeChatServer, url: str
) -> None:
    fake.refusals.append(Refusal(429, retry_after_s=60))
    started = time.monotonic()
    answer = await service(url, max_retry_wait_s=5.0).answer(TENANT, REQUEST)

    assert answer.degraded and answer.degraded_reason == "llm_rate_limited"
    assert answer.mode == "extractive" and "[1]" in answer.answer
    assert len(fake.requests) == 1 and time.monotonic() - started < 2


async def test_5xx_are_retried_with_backoff_then_the_answer_degrades(
    fake: FakeChatServer, url: str
) -> None:
    fake.always_fail = 503
    answer = await service(url, max_retries=2).answer(TENANT, REQUEST)

    assert answer.degraded and answer.degraded_reason == "llm_server_error"
    assert len(fake.requests) == 3  # the call and two retries


async def test_repeated_500s_open_the_breaker_and_later_calls_skip_the_model(
    fake: FakeChatServer, url: str
) -> None:
    fake.always_fail = 500
    answers = service(url, max_retries=0, breaker_failures=3, breaker_reset_s=0.5)

    for _ in range(3):
        answer = await answers.answer(TENANT, REQUEST)
        assert answer.degraded_reason == "llm_server_error"
    assert len(fake.requests) == 3

    skipped = await answers.answer(TENANT, REQUEST)
    streamed = await _events(answers)
    assert skipped.degraded and skipped.degraded_reason == "llm_circuit_open"
    assert isinstance(streamed[-1], DoneEvent)
    assert streamed[-1].degraded_reason == "llm_circuit_open"
    assert len(fake.requests) == 3  # the model was not called while the breaker was open

    # After the reset period one trial goes through; the model has recovered: closed again.
    fake.always_fail = None
    await asyncio.sleep(0.6)
    recovered = await answers.answer(TENANT, REQUEST)
    assert recovered.mode == "llm" and not recovered.degraded
    assert len(fake.requests) == 4


async def test_a_malformed_first_chunk_degrades_to_extractive(
    fake: FakeChatServer, url: str
) -> None:
    fake.malformed_after_tokens = 0
    events = await _events(service(url))

    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.degraded and done.degraded_reason == "llm_malformed_response"


async def test_a_malformed_chunk_mid_answer_ends_the_stream_with_an_error_event(
    fake: FakeChatServer, url: str
) -> None:
    fake.malformed_after_tokens = 3
    events = await _events(service(url))

    assert text_of(events) == "Refunds are paid"
    error = events[-1]
    assert isinstance(error, ErrorEvent)
    assert error.problem["status"] == 503 and error.problem["code"] == "llm_failed"


async def test_closing_the_stream_closes_the_model_request(fake: FakeChatServer, url: str) -> None:
    fake.endless = True
    fake.token_delay_s = 0.01
    async with aclosing(service(url).stream(TENANT, REQUEST)) as events:
        deltas = 0
        async for event in events:
            deltas += event.event == "delta"
            if deltas == 3:
                break

    await asyncio.wait_for(fake.abandoned.wait(), timeout=5)
    assert fake.abandoned_streams == 1 and fake.completed_streams == 0


async def test_a_gateway_hanging_up_mid_stream_reaches_the_model_over_http(
    fake: FakeChatServer, url: str
) -> None:
    """Microservices: gateway -> (HTTP, NDJSON) -> generation -> (HTTP, SSE) -> model."""
    fake.endless = True
    fake.token_delay_s = 0.01
    async with (
        serve_asgi(internal_app(service(url))) as generation_url,
        aclosing(HttpAnswerClient(generation_url, TOKEN, timeout_s=5)) as client,
    ):
        async with aclosing(client.stream(TENANT, REQUEST)) as events:
            kinds = []
            async for event in events:
                kinds.append(event.event)
                if kinds.count("delta") == 3:
                    break
        await asyncio.wait_for(fake.abandoned.wait(), timeout=5)

    assert kinds[0] == "citations"
    assert fake.abandoned_streams == 1 and fake.completed_streams == 0


async def test_a_whole_stream_arrives_over_http_event_by_event(
    fake: FakeChatServer, url: str
) -> None:
    fake.first_token_delay_s = 0.3
    async with (
        serve_asgi(internal_app(service(url))) as generation_url,
        aclosing(HttpAnswerClient(generation_url, TOKEN, timeout_s=5)) as client,
    ):
        started = time.monotonic()
        arrivals: list[tuple[str, float]] = []
        async for event in client.stream(TENANT, REQUEST):
            arrivals.append((event.event, time.monotonic() - started))

    # The sources arrive before the model's first token exists: nothing waits for the answer.
    assert arrivals[0][0] == "citations" and arrivals[0][1] < 0.25
    assert arrivals[1][0] == "delta" and arrivals[1][1] >= 0.3
    assert arrivals[-1][0] == "done"


async def test_closing_a_trial_stream_frees_the_half_open_breaker_at_once(
    fake: FakeChatServer, url: str
) -> None:
    """The client going away is no verdict on the model: the next request may try it."""
    fake.always_fail = 500
    answers = service(url, max_retries=0, breaker_failures=1, breaker_reset_s=0.2)
    assert (await answers.answer(TENANT, REQUEST)).degraded_reason == "llm_server_error"
    await asyncio.sleep(0.3)  # half-open: one trial call may go out
    fake.always_fail = None
    fake.endless = True
    fake.token_delay_s = 0.01
    async with aclosing(answers.stream(TENANT, REQUEST)) as events:
        async for event in events:
            if event.event == "delta":
                break

    fake.endless = False
    answer = await answers.answer(TENANT, REQUEST)
    assert answer.mode == "llm" and not answer.degraded
