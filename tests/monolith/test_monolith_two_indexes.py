"""Two embedding models in one process, below the gateway (issue 15, reindexing).

The worker and retrieval share one real host (in-process broker, embedded Qdrant Edge): the
default index is the hash embedder's, the second the int8 ONNX MiniLM's, opened on first use.
Documents go to the default index, then a reindex task per document writes them to the MiniLM
index only; searches name the index they read and say which answered, and a semantic query finds
the right document only in the MiniLM index. Dropping the MiniLM index empties it and leaves the
default untouched. Skipped where the ONNX export of the bundled model cannot be made.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest

from ragline_cli.hosting import ProcessHost, WiredHost
from ragline_common.contracts.search import SearchApi, SearchQuery
from ragline_common.errors import UpstreamUnavailable
from ragline_common.hosting import SEARCH_API, Api
from ragline_common.messages import (
    SYSTEM_TENANT_ID,
    DocumentIngestRequested,
    IndexDropRequested,
    JobStatus,
    JobStatusChanged,
    parse_message,
)
from ragline_common.ports.broker import Delivery
from ragline_common.settings import CoreSettings, EmbedderSettings
from ragline_common.tenancy import TenantId
from ragline_common.topology import ROUTING_INDEX_DROP, ROUTING_INGEST, QueueName
from ragline_ingestion.component import IngestionComponent
from ragline_ingestion.settings import IngestionSettings
from ragline_retrieval.component import RetrievalComponent
from ragline_retrieval.settings import RetrievalSettings
from ragline_testing.harness import embedded_settings

TENANT = TenantId("ten_two_indexes")
MINILM = "onnx-int8"
DOCUMENTS = {
    "doc_ducks": "Ducks are waterfowl. They paddle across ponds with their webbed feet and "
    "dabble for pondweed, seeds and small insects.",
    "doc_tax": "A value added tax is charged at each stage of production; businesses reclaim "
    "the tax they paid on inputs, so the final consumer bears it.",
    "doc_volcano": "Magma rises through the crust and erupts as lava; pyroclastic flows and ash "
    "clouds make stratovolcanoes the most dangerous kind.",
}
SEMANTIC_QUERY = "which birds swim on lakes"
"""No word in common with the duck document: only a real model finds it."""


@pytest.fixture(scope="module")
def minilm_available(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The int8 export must exist or be makeable here; otherwise the test cannot say anything."""
    pytest.importorskip("onnxruntime")
    from ragline_common.adapters.embedder.selection import local_embedder

    async def load() -> None:
        await local_embedder(EmbedderSettings(kind=MINILM)).warm_up()

    try:
        anyio.run(load)
    except Exception as exc:  # any reason the model cannot load here
        pytest.skip(f"the int8 MiniLM cannot be loaded here: {type(exc).__name__}: {exc}")


class Inbox:
    def __init__(self) -> None:
        self.events: list[JobStatusChanged] = []

    async def handle(self, delivery: Delivery) -> None:
        message = parse_message(delivery.body)
        assert isinstance(message, JobStatusChanged)
        self.events.append(message)

    def terminal(self, index_model: str | None) -> list[JobStatusChanged]:
        return [e for e in self.events if e.status.is_terminal and e.index_model == index_model]


async def eventually(condition: Callable[[], Awaitable[bool]], timeout_s: float = 60.0) -> None:
    """Poll ``condition``: the broker delivers in background tasks, there is nothing to await."""
    for _ in range(int(timeout_s / 0.02)):
        if await condition():
            return
        await anyio.sleep(0.02)
    pytest.fail(f"condition not met within {timeout_s} s")


def ingest(document_id: str, **fields: Any) -> DocumentIngestRequested:
    content = DOCUMENTS[document_id].encode()
    return DocumentIngestRequested(
        tenant_id=TENANT,
        document_id=document_id,
        job_id=f"job_{document_id}",
        version=1,
        title=document_id,
        source_name=f"{document_id}.txt",
        content_type="text/plain",
        content=content,
        content_hash=hashlib.sha256(content).hexdigest(),
        **fields,
    )


@pytest.fixture
async def process(
    tmp_path: Path, minilm_available: None
) -> AsyncIterator[tuple[ProcessHost, SearchApi, Inbox]]:
    settings = embedded_settings(CoreSettings(data_dir=tmp_path), hash_dimension=64)
    async with AsyncExitStack() as stack:
        host = ProcessHost(settings, stack)
        await IngestionComponent(IngestionSettings()).start(host)
        provided: dict[Api[Any], Any] = {}
        retrieval = RetrievalComponent(RetrievalSettings(default_mode="dense"))
        await retrieval.start(
            WiredHost(host, "retrieval", provides=(SEARCH_API,), requires=(), provided=provided)
        )
        inbox = Inbox()
        await (await host.broker()).consume(QueueName.JOB_EVENTS, inbox.handle, prefetch=8)
        yield host, provided[SEARCH_API], inbox


async def test_reindex_into_a_second_model_then_drop_it(
    process: tuple[ProcessHost, SearchApi, Inbox],
) -> None:
    host, search, inbox = process
    broker = await host.broker()

    for document_id in DOCUMENTS:
        await broker.publish(ingest(document_id), routing_key=ROUTING_INGEST)

    async def uploaded() -> bool:
        return len(inbox.terminal(None)) == len(DOCUMENTS)

    await eventually(uploaded)
    assert {e.status for e in inbox.terminal(None)} == {JobStatus.INDEXED}

    for document_id in DOCUMENTS:
        await broker.publish(ingest(document_id, reindex_of=MINILM), routing_key=ROUTING_INGEST)

    async def reindexed() -> bool:
        return len(inbox.terminal(MINILM)) == len(DOCUMENTS)

    await eventually(reindexed)
    assert {e.status for e in inbox.terminal(MINILM)} == {JobStatus.INDEXED}
    # The reindex tasks left the documents' own jobs alone: one event each, from the upload.
    assert len(inbox.terminal(None)) == len(DOCUMENTS)

    query = SearchQuery(query=SEMANTIC_QUERY, top_k=3)
    semantic = await search.search(TENANT, query, index_model=MINILM)
    assert semantic.index_model == MINILM
    assert semantic.results[0].document_id == "doc_ducks"
    default = await search.search(TENANT, query)
    assert default.index_model == "hash"
    assert len(default.results) == len(DOCUMENTS)  # every chunk once: nothing written twice

    drop = IndexDropRequested(tenant_id=SYSTEM_TENANT_ID, index_model=MINILM)
    await broker.publish(drop, routing_key=ROUTING_INDEX_DROP)

    async def dropped() -> bool:
        try:
            result = await search.search(TENANT, query, index_model=MINILM)
        except UpstreamUnavailable:  # a search racing the drop, on the store being closed
            return False
        return result.results == []

    await eventually(dropped)
    assert len((await search.search(TENANT, query)).results) == len(DOCUMENTS)
    for check in host.checks.values():
        await check()
