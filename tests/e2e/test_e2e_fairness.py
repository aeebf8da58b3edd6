"""One tenant's backlog of 1,000 documents does not hold up another tenant's single upload."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ragline_e2e_harness import Client
from ragline_e2e_stack import start_stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

WINDOW = 4
CONCURRENCY = 2
BACKLOG = 1000


def _all_documents(client: Client, key: str) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = client.call("GET", "/v1/documents", key, params={"limit": 200, "offset": offset})
        assert page.status_code == 200, page.text
        documents.extend(page.json()["documents"])
        offset = page.json()["next_offset"]
    return documents


def test_a_single_document_overtakes_another_tenants_backlog(
    postgres_url: str, tmp_path: Path
) -> None:
    stack = start_stack(
        postgres_url,
        tmp_path,
        extra_env={
            "RAGLINE_GATEWAY_TENANT_JOBS_IN_FLIGHT": str(WINDOW),
            "RAGLINE_INGESTION_CONCURRENCY": str(CONCURRENCY),
        },
    )
    client = Client(stack.url)
    try:
        busy = client.create_tenant(stack.admin_token, "busy")
        quiet = client.create_tenant(stack.admin_token, "quiet")
        # The worker is down while the backlog builds, as when uploads outpace it.
        assert stack.worker.stop(), stack.worker.log_tail()

        def upload(i: int) -> None:
            client.upload_text(busy.key, f"Report {i}", f"Quarterly report number {i}. " * 20)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(upload, range(BACKLOG)))
        single = client.upload_text(quiet.key, "Only one", "The quiet tenant's only document.")
        stack.restart_worker()
        indexed = client.wait_indexed(quiet.key, single["job_id"], timeout_s=120)

        finished = datetime.fromisoformat(indexed["updated_at"])
        busy_documents = _all_documents(client, busy.key)
        assert len(busy_documents) == BACKLOG
        went_first = [
            d
            for d in busy_documents
            if d["status"] == "indexed" and datetime.fromisoformat(d["updated_at"]) <= finished
        ]
        # Only the busy tenant's window went first (plus what a worker slot already held),
        # not the thousand documents it uploaded before.
        assert len(went_first) <= WINDOW + CONCURRENCY, len(went_first)
        # The backlog is not starved either: the window keeps topping up until it drains.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            statuses = {d["status"] for d in _all_documents(client, busy.key)}
            if statuses == {"indexed"}:
                break
            time.sleep(1)
        assert statuses == {"indexed"}, statuses
    finally:
        client.close()
        stack.stop()
