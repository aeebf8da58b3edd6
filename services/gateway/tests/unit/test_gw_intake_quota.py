"""The queue drop honours the same storage quotas as REST uploads (ADR 0012)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from gw_harness import ingest_key_in_catalog

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.errors import PermanentProcessingError
from ragline_common.ports.broker import Delivery
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.consumers.intake import IntakeHandler
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.intake_message import HEADER_API_KEY, SCHEMA_V1
from ragline_gateway.domain.key_directory import KeyDirectory
from ragline_gateway.domain.limits import enforce_upload_quota
from ragline_gateway.ports.catalog import TenantLimits
from ragline_gateway.settings import GatewaySettings

PEPPER = b"pepper-for-intake-quota-tests"


async def test_an_intake_message_over_the_documents_quota_is_dead_lettered(
    tmp_path: Path,
) -> None:
    catalog = SqlCatalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}", pool_size=1)
    await catalog.open()
    broker = MemoryBroker()
    await broker.start()
    try:
        tenant, key = await ingest_key_in_catalog(catalog, PEPPER, tenant_name="acme")
        await catalog.set_tenant_limits(tenant, TenantLimits(max_documents=1))

        handler = IntakeHandler(
            catalog=catalog,
            broker=broker,
            dispatcher=JobDispatcher(catalog, broker, window=10),
            key_pepper=PEPPER,
            admin_token="operator-token-for-intake-quota-0123",
            max_upload_bytes=4096,
            # Wired as the gateway component wires it: the one quota check of both doors.
            quota=functools.partial(
                enforce_upload_quota,
                overrides=KeyDirectory(catalog, ttl_s=60.0, touch_interval_s=60.0),
                documents=catalog,
                settings=GatewaySettings(),
            ),
        )

        def message(text: str) -> Delivery:
            body = {"schema": SCHEMA_V1, "title": "Notes", "text": text}
            return Delivery(
                body=json.dumps(body).encode(),
                routing_key="document.intake.v1",
                headers={HEADER_API_KEY: key},
            )

        await handler(message("the first fits"))
        with pytest.raises(PermanentProcessingError) as refused:
            await handler(message("the second does not"))
        assert refused.value.code == "quota_exceeded"
        assert refused.value.tenant_id == tenant
        assert (await catalog.storage_usage(tenant)).documents == 1
    finally:
        await broker.close()
        await catalog.close()
