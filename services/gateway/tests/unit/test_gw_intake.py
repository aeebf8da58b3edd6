"""The queue-drop handler on a real SQLite catalog and the in-process broker."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from gw_harness import ingest_key_in_catalog

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.errors import (
    PermanentProcessingError,
    UpstreamUnavailable,
)
from ragline_common.messages import DocumentIngestRequested, JobStatus, parse_message
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import Scope, TenantId
from ragline_common.topology import QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.intake import IntakeHandler
from ragline_gateway.domain import api_keys
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.intake_message import HEADER_API_KEY, SCHEMA_V1

PEPPER = b"pepper-for-intake-tests"
ADMIN_TOKEN = "operator-token-for-intake-tests-0123"
MAX_UPLOAD_BYTES = 2048


class RepliesRecorded(MemoryBroker):
    """The in-process broker, keeping the replies it is asked to send (it has no reply queues)."""

    def __init__(self) -> None:
        super().__init__(close_timeout_s=1.0)
        self.replies: list[tuple[str, str, dict[str, Any]]] = []

    async def publish_reply(self, reply_to: str, correlation_id: str, body: bytes) -> None:
        self.replies.append((reply_to, correlation_id, json.loads(body)))


@dataclass
class World:
    catalog: SqlCatalog
    broker: RepliesRecorded
    handler: IntakeHandler
    tenant_id: TenantId
    keys: dict[str, str] = field(default_factory=dict)

    async def add_key(
        self, name: str, scopes: set[Scope], *, expires_at: datetime | None = None
    ) -> str:
        key = api_keys.generate_key()
        record = await self.catalog.create_api_key(
            self.tenant_id,
            name=name,
            prefix=api_keys.display_prefix(key),
            key_hash=api_keys.hash_key(key, PEPPER),
            scopes=frozenset(scopes),
            expires_at=expires_at,
        )
        self.keys[name] = key
        self.keys[f"{name}-id"] = record.id
        return key

    async def documents(self) -> int:
        return len(await self.catalog.list_documents(self.tenant_id, limit=100, offset=0))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    catalog = SqlCatalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}", pool_size=1)
    await catalog.open()
    broker = RepliesRecorded()
    await broker.start()
    tenant = await catalog.create_tenant("acme")
    handler = IntakeHandler(
        catalog=catalog,
        broker=broker,
        dispatcher=JobDispatcher(catalog, broker, window=100),
        key_pepper=PEPPER,
        admin_token=ADMIN_TOKEN,
        max_upload_bytes=MAX_UPLOAD_BYTES,
    )
    state = World(catalog, broker, handler, tenant.id)
    await state.add_key("ingest", {Scope.INGEST})
    await state.add_key("query", {Scope.QUERY})
    yield state
    await broker.close()
    await catalog.close()


def delivery(
    body: dict[str, Any] | bytes,
    key: str | None,
    *,
    reply_to: str | None = "producer.replies",
    correlation_id: str | None = "c-1",
) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {HEADER_API_KEY: key} if key is not None else {}
    return Delivery(
        body=raw,
        routing_key="document.intake.v1",
        headers=headers,
        reply_to=reply_to,
        correlation_id=correlation_id,
    )


def text_message(**fields: Any) -> dict[str, Any]:
    return {"schema": SCHEMA_V1, "title": "Notes", "text": "The reactor hums.", **fields}


async def queued_ingest_messages(broker: MemoryBroker) -> int:
    return await broker.queue_depth(QueueName.INGESTION)


async def test_a_valid_text_message_becomes_a_queued_job_and_is_answered(world: World) -> None:
    await world.handler(delivery(text_message(metadata={"team": "energy"}), world.keys["ingest"]))

    [document] = await world.catalog.list_documents(world.tenant_id, limit=10, offset=0)
    assert document.title == "Notes"
    assert document.content_type == "text/plain"
    assert document.source_name == "Notes.txt"
    assert document.metadata == {"team": "energy"}
    assert await queued_ingest_messages(world.broker) == 1
    [(reply_to, correlation_id, answer)] = world.broker.replies
    assert (reply_to, correlation_id) == ("producer.replies", "c-1")
    assert answer["document_id"] == document.id
    job = await world.catalog.get_job(world.tenant_id, answer["job_id"])
    assert job is not None and job.status is JobStatus.QUEUED and job.published
    assert answer == {
        "document_id": document.id,
        "job_id": job.id,
        "version": 1,
        "status": "queued",
        "duplicate": False,
    }


async def test_a_base64_file_gets_its_type_from_the_extension(world: World) -> None:
    content = b"# Ducks\n\nDucks swim in lakes.\n"
    message = {
        "schema": SCHEMA_V1,
        "title": "Duck handbook",
        "content_base64": base64.b64encode(content).decode(),
        "filename": "../../handbooks/duck.md",
    }
    await world.handler(delivery(message, world.keys["ingest"], reply_to=None))

    [document] = await world.catalog.list_documents(world.tenant_id, limit=10, offset=0)
    assert (document.content_type, document.source_name) == ("text/markdown", "duck.md")
    assert document.size_bytes == len(content)
    stored = await world.catalog.get_document_content(world.tenant_id, document.id, 1)
    assert stored == content
    assert world.broker.replies == []  # no reply_to, no reply


async def test_an_external_id_makes_a_redelivered_message_a_duplicate(world: World) -> None:
    message = delivery(text_message(external_id="wiki/notes"), world.keys["ingest"])
    await world.handler(message)
    await world.handler(message)

    assert await world.documents() == 1
    assert await queued_ingest_messages(world.broker) == 1
    first, second = (answer for _, _, answer in world.broker.replies)
    assert second == {**first, "duplicate": True}


@pytest.mark.parametrize(
    ("key_name", "code"),
    [
        (None, "missing_api_key"),
        ("garbage", "invalid_api_key"),
        ("unknown", "invalid_api_key"),
        ("revoked", "invalid_api_key"),
        ("expired", "expired_api_key"),
        ("query", "missing_scope"),
        ("operator", "forbidden"),
    ],
)
async def test_a_bad_key_is_refused_with_a_reason_that_never_contains_it(
    world: World, key_name: str | None, code: str
) -> None:
    revoked = await world.add_key("revoked", {Scope.INGEST})
    await world.catalog.revoke_api_key(world.tenant_id, world.keys["revoked-id"])
    expired = await world.add_key(
        "expired", {Scope.INGEST}, expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    keys = {
        None: None,
        "garbage": "rl_not-a-key",
        "unknown": api_keys.generate_key(),
        "revoked": revoked,
        "expired": expired,
        "query": world.keys["query"],
        "operator": ADMIN_TOKEN,
    }
    key = keys[key_name]

    with pytest.raises(PermanentProcessingError) as refused:
        await world.handler(delivery(text_message(), key))

    assert refused.value.code == code
    assert key is None or key not in refused.value.detail
    assert await world.documents() == 0
    assert await queued_ingest_messages(world.broker) == 0
    [(_, _, answer)] = world.broker.replies
    assert answer == {"error": {"code": code, "detail": refused.value.detail}}


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(b"{not json", id="malformed-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(text_message(schema="ragline.intake.document.v2"), id="other-version"),
        pytest.param(text_message(title=""), id="empty-title"),
        pytest.param(text_message(text="   \n"), id="blank-text"),
        pytest.param(text_message(unknown_field=1), id="unknown-field"),
        pytest.param(text_message(content_type="application/pdf"), id="text-type"),
        pytest.param(text_message(filename="a.txt"), id="filename-with-text"),
        pytest.param(text_message(external_id=None), id="null"),
        pytest.param({"schema": SCHEMA_V1, "title": "t"}, id="no-content"),
        pytest.param(
            {"schema": SCHEMA_V1, "title": "t", "content_base64": "QUJD"}, id="no-filename"
        ),
        pytest.param(
            {"schema": SCHEMA_V1, "title": "t", "content_base64": "QUJ", "filename": "a.txt"},
            id="bad-base64",
        ),
        pytest.param(text_message(metadata={str(i): i for i in range(65)}), id="metadata"),
    ],
)
async def test_an_invalid_message_is_refused_and_creates_nothing(
    world: World, message: dict[str, Any] | bytes
) -> None:
    with pytest.raises(PermanentProcessingError) as refused:
        await world.handler(delivery(message, world.keys["ingest"]))

    assert refused.value.code == "invalid_message"
    assert refused.value.detail.startswith("invalid message: ")
    assert await world.documents() == 0


async def test_validation_reasons_redact_anything_shaped_like_a_key(world: World) -> None:
    key = world.keys["ingest"]
    with pytest.raises(PermanentProcessingError) as refused:
        await world.handler(delivery(text_message(**{key: "oops"}), key))

    assert key not in refused.value.detail
    assert "[redacted]" in refused.value.detail


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (text_message(text="x" * (MAX_UPLOAD_BYTES + 1)), "payload_too_large"),
        (
            {
                "schema": SCHEMA_V1,
                "title": "big",
                "content_base64": base64.b64encode(b"y" * (MAX_UPLOAD_BYTES + 1)).decode(),
                "filename": "big.txt",
            },
            "payload_too_large",
        ),
        (text_message(text="z" * 200_000), "payload_too_large"),  # refused before parsing
        (
            {
                "schema": SCHEMA_V1,
                "title": "t",
                "content_base64": base64.b64encode(b"MZ\x90\x00").decode(),
                "filename": "tool.exe",
            },
            "unsupported_document_type",
        ),
        (
            {
                "schema": SCHEMA_V1,
                "title": "t",
                "content_base64": base64.b64encode(b"plain words").decode(),
                "filename": "report.pdf",
            },
            "content_type_mismatch",
        ),
        (
            {
                "schema": SCHEMA_V1,
                "title": "t",
                "content_base64": base64.b64encode(b"  \n ").decode(),
                "filename": "blank.txt",
            },
            "empty_document",
        ),
    ],
)
async def test_rest_size_and_type_rules_apply(
    world: World, message: dict[str, Any], code: str
) -> None:
    with pytest.raises(PermanentProcessingError) as refused:
        await world.handler(delivery(message, world.keys["ingest"]))

    assert refused.value.code == code
    assert await world.documents() == 0


async def test_a_broker_outage_keeps_the_document_for_later_dispatch(world: World) -> None:
    await world.broker.close()  # publishing the ingest job now fails

    # The catalog holds the document and its content: the message is done with, nothing lost.
    await world.handler(delivery(text_message(), world.keys["ingest"]))

    assert await world.documents() == 1
    waiting = await world.catalog.next_unpublished(world.tenant_id, limit=10)
    assert len(waiting) == 1  # the dispatcher's sweep publishes it once the broker is back


async def test_an_undeliverable_reply_does_not_fail_the_message(tmp_path: Path) -> None:
    catalog = SqlCatalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}", pool_size=1)
    await catalog.open()
    broker = MemoryBroker(close_timeout_s=1.0)
    await broker.start()
    try:
        tenant_id, key = await ingest_key_in_catalog(catalog, PEPPER, tenant_name="acme")
        handler = IntakeHandler(
            catalog=catalog,
            broker=broker,
            dispatcher=JobDispatcher(catalog, broker, window=100),
            key_pepper=PEPPER,
            admin_token=ADMIN_TOKEN,
            max_upload_bytes=MAX_UPLOAD_BYTES,
        )
        # Nobody outside this process can hold a reply queue of the in-process broker, and
        # Ragline's own queues are no reply address: both replies fail, both uploads stand.
        await handler(delivery(text_message(), key, reply_to="producer.replies"))
        await handler(delivery(text_message(text="Two."), key, reply_to="ragline.ingestion"))

        assert len(await catalog.list_documents(tenant_id, limit=10, offset=0)) == 2
        job = parse_message((await _drain_one(broker)).body)
        assert isinstance(job, DocumentIngestRequested)
        assert job.tenant_id == tenant_id
    finally:
        await broker.close()
        await catalog.close()


async def test_the_in_process_broker_refuses_replies_like_rabbitmq_would() -> None:
    broker = MemoryBroker()
    await broker.start()
    with pytest.raises(UpstreamUnavailable):
        await broker.publish_reply("producer.replies", "c", b"{}")
    with pytest.raises(ValueError, match="own queues"):
        await broker.publish_reply(QueueName.INGESTION.value, "c", b"{}")
    await broker.close()


async def _drain_one(broker: MemoryBroker) -> Delivery:
    received: list[Delivery] = []

    async def keep(message: Delivery) -> None:
        received.append(message)

    await broker.consume(QueueName.INGESTION, keep, prefetch=1)
    for _ in range(100):
        if received:
            return received[0]
        await asyncio.sleep(0.01)
    raise AssertionError("no ingest message was queued")
