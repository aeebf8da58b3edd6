"""The queue drop refuses NUL characters and rule-breaking metadata, on SQLite and PostgreSQL.

On PostgreSQL a NUL used to reach the catalog, fail there as if the database were down, and be
retried for ever. A refusal is a ``PermanentProcessingError``: the broker dead-letters the
message once, with the reason, and nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gw_harness import ingest_key_in_catalog

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.errors import PermanentProcessingError
from ragline_common.ports.broker import Delivery
from ragline_common.tenancy import TenantId
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.intake import IntakeHandler
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.intake_message import HEADER_API_KEY, SCHEMA_V1

PEPPER = b"pepper-for-intake-nul-tests"


def _deep(depth: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return {"k": value}


REFUSED: dict[str, dict[str, Any]] = {
    "nul_title": {"title": "a\x00b"},
    "nul_text": {"text": "a\x00b"},
    "nul_external_id": {"external_id": "a\x00b"},
    "nul_metadata_value": {"metadata": {"k": ["a\x00b"]}},
    "nul_metadata_key": {"metadata": {"k": {"a\x00b": 1}}},
    "metadata_too_deep": {"metadata": _deep(6)},
    "metadata_far_too_deep": {"metadata": _deep(400)},
    "metadata_too_large": {"metadata": {"k": "x" * 17_000}},
}


@pytest.fixture
async def intake(catalog: SqlCatalog) -> AsyncIterator[tuple[IntakeHandler, TenantId, str]]:
    broker = MemoryBroker(close_timeout_s=1.0)
    await broker.start()
    tenant, key = await ingest_key_in_catalog(catalog, PEPPER)
    handler = IntakeHandler(
        catalog=catalog,
        broker=broker,
        dispatcher=JobDispatcher(catalog, broker, window=10),
        key_pepper=PEPPER,
        admin_token="operator-token-for-intake-nul-tests",
        max_upload_bytes=64 * 1024,
    )
    yield handler, tenant, key
    await broker.close()


def _delivery(key: str, **fields: Any) -> Delivery:
    message = {"schema": SCHEMA_V1, "title": "Notes", "text": "Some words.", **fields}
    return Delivery(
        body=json.dumps(message).encode(),
        routing_key="document.intake.v1",
        headers={HEADER_API_KEY: key},
        reply_to=None,
        correlation_id=None,
    )


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
async def test_the_queue_drop_refuses_permanently_and_stores_nothing(
    catalog: SqlCatalog, intake: tuple[IntakeHandler, TenantId, str], case: str
) -> None:
    handler, tenant, key = intake
    with pytest.raises(PermanentProcessingError) as refused:
        await handler(_delivery(key, **REFUSED[case]))
    assert refused.value.code == "invalid_message"
    assert refused.value.tenant_id == tenant
    assert "\x00" not in refused.value.detail
    assert await catalog.list_documents(tenant, limit=10, offset=0) == []


async def test_metadata_within_the_rules_is_accepted(
    catalog: SqlCatalog, intake: tuple[IntakeHandler, TenantId, str]
) -> None:
    handler, tenant, key = intake
    metadata = {"k": _deep(4)["k"], "text": "é" * 100}
    await handler(_delivery(key, metadata=metadata))
    [document] = await catalog.list_documents(tenant, limit=10, offset=0)
    assert document.metadata == metadata
