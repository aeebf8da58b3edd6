"""The queue drop from the outside: a producer publishes with aio-pika, as any client would.

Real processes on the real RabbitMQ, PostgreSQL and Redis. A valid message becomes a searchable
document and is answered on the producer's reply queue; every invalid one ends in the dead-letter
queue with its reason, creates nothing, and never leaks the key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import aio_pika
import pytest
from pydantic import SecretStr
from ragline_e2e_harness import Client, TenantKeys
from ragline_e2e_stack import RABBITMQ_URL, Stack, start_stack

from ragline_common.adapters.broker.rabbitmq import RabbitMqBroker
from ragline_common.ports.broker import DeadLetter
from ragline_common.settings import BrokerSettings
from ragline_common.topology import INTAKE_EXCHANGE, QueueName

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

MAX_UPLOAD_BYTES = 4096
KEY_PATTERN = re.compile(r"rl_[0-9A-Za-z]{38}")
SCHEMA_V1 = "ragline.intake.document.v1"
TEXT = "The Quillfeather observatory on Mount Arven tracks comets with a brass refractor."


@pytest.fixture(scope="module")
def stack(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(
        postgres_url,
        tmp_path_factory.mktemp("intake"),
        extra_env={"RAGLINE_GATEWAY_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES)},
    )
    try:
        yield running
    finally:
        running.stop()


class Producer:
    """An outside producer: its own connection, a reply queue, publisher confirms."""

    def __init__(self, namespace: str) -> None:
        self._exchange_name = f"{namespace}.{INTAKE_EXCHANGE}"
        self.replies: dict[str, dict[str, Any]] = {}
        self._arrived = asyncio.Condition()

    async def __aenter__(self) -> Producer:
        self._connection = await aio_pika.connect_robust(RABBITMQ_URL, timeout=10)
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await channel.get_exchange(self._exchange_name)
        self._reply_queue = await channel.declare_queue(exclusive=True)

        async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process(), self._arrived:
                assert message.correlation_id is not None
                self.replies[message.correlation_id] = json.loads(message.body)
                self._arrived.notify_all()

        await self._reply_queue.consume(on_reply)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def publish(self, body: dict[str, Any] | bytes, api_key: str | None) -> str:
        correlation_id = uuid.uuid4().hex
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        await self._exchange.publish(
            aio_pika.Message(
                raw,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={"x-ragline-api-key": api_key} if api_key else {},
                reply_to=self._reply_queue.name,
                correlation_id=correlation_id,
            ),
            routing_key="document.intake.v1",
        )
        return correlation_id

    async def reply(self, correlation_id: str, timeout_s: float = 60) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s), self._arrived:
            await self._arrived.wait_for(lambda: correlation_id in self.replies)
        return self.replies[correlation_id]


async def dead_letters_of(namespace: str, expected: int) -> list[DeadLetter]:
    """Read the dead-letter queue with the broker adapter, as the operator API does."""
    broker = RabbitMqBroker(
        BrokerSettings(url=SecretStr(RABBITMQ_URL)), namespace=namespace, close_timeout_s=1
    )
    await broker.start()
    try:
        async with asyncio.timeout(60):
            while True:
                found = await broker.list_dead_letters(None, limit=100)
                if len(found) >= expected:
                    return found
                await asyncio.sleep(0.3)
    finally:
        await broker.close()


async def test_an_outside_producer_drops_documents_into_the_queue(stack: Stack) -> None:
    client = Client(stack.url)
    tenant: TenantKeys = client.create_tenant(stack.admin_token, "quill")
    unknown_key = "rl_" + "A" * 32
    unknown_key += unknown_key[-6:]  # key-shaped; refused either by checksum or by lookup
    async with Producer(stack.namespace) as producer:
        accepted = await producer.publish(
            {
                "schema": SCHEMA_V1,
                "title": "Observatory",
                "text": TEXT,
                "metadata": {"site": "arven"},
            },
            tenant.key,
        )
        as_file = await producer.publish(
            {
                "schema": SCHEMA_V1,
                "title": "Comets",
                "content_base64": base64.b64encode(b"# Comets\n\nTails point away.\n").decode(),
                "filename": "comets.md",
            },
            tenant.key,
        )
        refused = {
            "invalid_api_key": await producer.publish(
                {"schema": SCHEMA_V1, "title": "x", "text": "unknown key"}, unknown_key
            ),
            "missing_scope": await producer.publish(
                {"schema": SCHEMA_V1, "title": "x", "text": "query-only key"},
                tenant.query_only_key,
            ),
            "invalid_message": await producer.publish(
                {"schema": SCHEMA_V1, "title": "x", "txt": "misspelt field"}, tenant.key
            ),
            "payload_too_large": await producer.publish(
                {"schema": SCHEMA_V1, "title": "x", "text": "y" * (MAX_UPLOAD_BYTES + 1)},
                tenant.key,
            ),
        }

        answer = await producer.reply(accepted)
        file_answer = await producer.reply(as_file)
        refusals = {code: await producer.reply(cid) for code, cid in refused.items()}

    # Accepted: a queued job, then indexed and searchable through REST like any upload.
    assert answer["status"] == "queued" and answer["duplicate"] is False
    for reply in (answer, file_answer):
        job = client.wait_indexed(tenant.key, reply["job_id"], timeout_s=90)
        assert job["chunk_count"] >= 1
    hits = client.search(tenant.key, "Quillfeather observatory comets refractor")
    assert hits and hits[0]["document_id"] == answer["document_id"]
    assert hits[0]["metadata"] == {"site": "arven"}
    document = client.call("GET", f"/v1/documents/{file_answer['document_id']}", tenant.key)
    assert document.json()["content_type"] == "text/markdown"

    # Refused: answered with the reason, nothing created, parked in the dead-letter queue.
    for code, reply in refusals.items():
        assert reply["error"]["code"] == code, reply
    listing = client.call("GET", "/v1/documents", tenant.key).json()["documents"]
    assert {doc["id"] for doc in listing} == {answer["document_id"], file_answer["document_id"]}
    parked = await dead_letters_of(stack.namespace, expected=len(refused))
    assert len(parked) == len(refused)
    reasons = {letter.reason for letter in parked}
    assert reasons == {reply["error"]["detail"] for reply in refusals.values()}
    assert all(letter.queue is QueueName.INTAKE for letter in parked)
    for letter in parked:
        assert not KEY_PATTERN.search(letter.reason)
    client.close()

    # The key never reaches a log line.
    for process in (stack.gateway, stack.worker):
        log = process.log_path.read_text(errors="replace")
        assert not KEY_PATTERN.search(log), process.log_path
        assert tenant.key not in log and unknown_key not in log
