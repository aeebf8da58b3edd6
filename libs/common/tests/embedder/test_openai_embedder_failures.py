"""The remote embedder when the provider fails: 429s, 5xx, slow answers, refused keys and
models, and what the worker then does with the message (``settle()``)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from ragline_common.adapters.broker.settlement import settle
from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.adapters.embedder.openai_compatible import OpenAICompatibleEmbedder
from ragline_common.adapters.embedder.remote_failures import EmbeddingRejected
from ragline_common.errors import PermanentProcessingError, UpstreamUnavailable
from ragline_common.observability.logs import configure_logging
from ragline_common.ports.broker import Delivery
from ragline_common.topology import QueueName
from ragline_testing.embedding_server import (
    EmbeddingRefusal,
    FakeEmbeddingServer,
    remote_embedder,
)

MODEL = "remote-hash"
SECRET = "sk-test-do-not-log-4f9c2e"
SECRET_KEY = SecretStr(SECRET)


def _server(**script: Any) -> FakeEmbeddingServer:
    return FakeEmbeddingServer(HashEmbedder(32), model=MODEL, **script)


def _gaps(server: FakeEmbeddingServer) -> list[float]:
    return [b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False)]


async def test_a_429_waits_the_retry_after_seconds_it_names() -> None:
    server = _server()
    # A backoff of 5 s or more would show: only the header can make the wait about one second.
    async with remote_embedder(server, retry_base_s=5.0, retry_cap_s=10.0) as embedder:
        server.arrivals.clear()
        server.refusals.append(EmbeddingRefusal(429, retry_after_s=1))
        vectors = await embedder.embed_documents(["rate limited once"])
    assert len(vectors) == 1
    [gap] = _gaps(server)
    assert 0.95 <= gap < 2.0


async def test_retry_after_ms_is_preferred_to_retry_after() -> None:
    server = _server()
    async with remote_embedder(server, retry_base_s=5.0, retry_cap_s=10.0) as embedder:
        server.arrivals.clear()
        server.refusals.append(EmbeddingRefusal(429, retry_after_s=30, retry_after_ms=250))
        await embedder.embed_query("rate limited once")
    [gap] = _gaps(server)
    assert 0.24 <= gap < 1.0


async def test_a_retry_after_longer_than_the_wait_limit_gives_the_message_back_at_once() -> None:
    server = _server()
    async with remote_embedder(server, max_retry_wait_s=5.0) as embedder:
        server.requests.clear()
        server.refusals.append(EmbeddingRefusal(429, retry_after_s=120))
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable) as unavailable:
            await embedder.embed_query("held back")
    assert time.monotonic() - started < 1.0
    assert len(server.requests) == 1
    assert unavailable.value.retry_after_s == 120


async def test_5xx_are_retried_with_backoff_until_one_succeeds() -> None:
    server = _server()
    async with remote_embedder(server, max_retries=3) as embedder:
        server.requests.clear()
        server.refusals.extend([EmbeddingRefusal(503), EmbeddingRefusal(500)])
        vectors = await embedder.embed_documents(["a", "b"])
    assert len(vectors) == 2
    assert len(server.requests) == 3


async def test_5xx_past_max_retries_is_upstream_unavailable() -> None:
    server = _server()
    async with remote_embedder(server, max_retries=2) as embedder:
        server.requests.clear()
        server.always_fail = 502
        with pytest.raises(UpstreamUnavailable, match=r"3 time.*HTTP 502"):
            await embedder.embed_documents(["a"])
    assert len(server.requests) == 3


async def test_a_slow_answer_times_out_and_is_retried() -> None:
    server = _server()
    async with remote_embedder(server, timeout_s=0.3, max_retries=2) as embedder:
        server.requests.clear()
        server.delays_s.append(2.0)
        started = time.monotonic()
        vectors = await embedder.embed_documents(["slow then fast"])
        # Measured before the server shuts down: it waits for the abandoned slow answer.
        assert time.monotonic() - started < 1.5
    assert len(vectors) == 1
    assert len(server.requests) == 2


async def test_a_provider_that_stays_slow_is_upstream_unavailable_within_the_timeouts() -> None:
    server = _server()
    async with remote_embedder(server, timeout_s=0.3, max_retries=1) as embedder:
        server.delays_s.extend([3.0, 3.0])
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match="no answer in time"):
            await embedder.embed_query("never answered")
        assert time.monotonic() - started < 2.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_provider_is_upstream_unavailable() -> None:
    embedder = OpenAICompatibleEmbedder(
        base_url=f"http://127.0.0.1:{_closed_port()}/v1",
        model=MODEL,
        dimension=32,
        max_retries=1,
        retry_base_s=0.01,
    )
    try:
        # A configured dimension lets the worker start while the provider is down.
        await embedder.warm_up()
        with pytest.raises(UpstreamUnavailable, match="unreachable"):
            await embedder.embed_documents(["nobody listens"])
    finally:
        await embedder.aclose()


async def test_warm_up_without_a_dimension_needs_the_provider() -> None:
    embedder = OpenAICompatibleEmbedder(
        base_url=f"http://127.0.0.1:{_closed_port()}/v1", model=MODEL, max_retries=0
    )
    try:
        with pytest.raises(UpstreamUnavailable):
            await embedder.warm_up()
    finally:
        await embedder.aclose()


async def test_a_refused_key_is_a_permanent_error_without_the_key_in_it() -> None:
    server = _server(api_key="sk-the-right-one")
    with pytest.raises(
        EmbeddingRejected, match=r"refused the API key \(HTTP 401, invalid_api_key\)"
    ) as rejected:
        async with remote_embedder(server, api_key=SECRET_KEY):
            pass
    assert isinstance(rejected.value, PermanentProcessingError)
    assert SECRET not in str(rejected.value)
    assert len(server.requests) == 1  # never retried


async def test_an_unknown_model_is_a_permanent_error_naming_the_model() -> None:
    server = _server()
    async with remote_embedder(server) as embedder:
        server.model = "another-model"
        server.requests.clear()
        with pytest.raises(EmbeddingRejected, match=r"no model 'remote-hash'.*HTTP 404"):
            await embedder.embed_query("which model?")
    assert len(server.requests) == 1


@pytest.fixture
def restore_logging() -> Iterator[None]:
    handlers = logging.getLogger().handlers[:]
    level = logging.getLogger().level
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    logging.getLogger().handlers[:] = handlers
    logging.getLogger().setLevel(level)


@pytest.mark.usefixtures("restore_logging")
async def test_the_api_key_is_never_logged(capsys: pytest.CaptureFixture[str]) -> None:
    # Debug level: the client's own log sees the request headers, and must redact them.
    configure_logging(level="debug", fmt="json", service="test")
    server = _server(api_key=SECRET)
    async with remote_embedder(server, api_key=SECRET_KEY, max_retries=2) as embedder:
        server.refusals.extend([EmbeddingRefusal(429, retry_after_ms=10), EmbeddingRefusal(503)])
        await embedder.embed_documents(["logged around, never the key"])
        server.api_key = "sk-rotated"  # now the key is refused, and the refusal quotes it
        with pytest.raises(EmbeddingRejected):
            await embedder.embed_query("refused")
    assert all(header == f"Bearer {SECRET}" for header in server.authorizations)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    events = {line["event"] for line in lines}
    assert {"embedding_request_retrying", "embedding_request_rejected"} <= events
    assert any(line["event"].startswith("Sending HTTP Request") for line in lines)
    assert not [line for line in lines if SECRET in json.dumps(line)]


class RecordingSettlement:
    def __init__(self) -> None:
        self.outcomes: list[str] = []

    async def ack(self) -> None:
        self.outcomes.append("ack")

    async def requeue(self) -> None:
        self.outcomes.append("requeue")

    async def dead_letter(self, routing_key: str, headers: Mapping[str, str]) -> None:
        self.outcomes.append("dead_letter")

    async def retry_later(self, delay_s: float, headers: Mapping[str, str]) -> None:
        self.outcomes.append("retry_later")


async def _settled(embedder: OpenAICompatibleEmbedder) -> list[str]:
    async def embed_chunks(_delivery: Delivery) -> None:
        await embedder.embed_documents(["a chunk of the document"])

    settlement = RecordingSettlement()
    delivery = Delivery(body=b"{}", routing_key="document.ingest.v1", headers={})
    await settle(
        embed_chunks, delivery, settlement, queue=QueueName.INGESTION, retry_delays_s=(1.0,)
    )
    return settlement.outcomes


async def test_an_outage_of_the_provider_is_a_delayed_retry_of_the_message() -> None:
    server = _server()
    async with remote_embedder(server, max_retries=1) as embedder:
        server.always_fail = 503
        assert await _settled(embedder) == ["retry_later", "ack"]


async def test_a_refusal_by_the_provider_dead_letters_the_message() -> None:
    server = _server()
    async with remote_embedder(server) as embedder:
        server.model = "renamed-model"
        assert await _settled(embedder) == ["dead_letter", "ack"]
