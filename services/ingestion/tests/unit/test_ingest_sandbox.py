"""The parse sandbox: runaway, memory-hungry and crashing parsers cost one job, not the worker.

The misbehaving parsers are test-only (``test_ingest_sandbox_parsers``) and injected like any
parser. They travel to the child process by pickle, which names their module: the
``misbehaving`` fixture makes that module importable under its plain name so the child can
load it (cheaply: it imports nothing the fork server has not loaded already).
"""

from __future__ import annotations

import importlib
import resource
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from types import ModuleType

import anyio
import pytest

from ragline_cli.hosting import ProcessHost
from ragline_common.errors import PermanentProcessingError
from ragline_common.messages import DocumentIngestRequested
from ragline_common.settings import CoreSettings
from ragline_common.tenancy import TenantId
from ragline_ingestion.domain.parsing import ParserRegistry, default_parsers
from ragline_ingestion.domain.parsing.sandbox import ParseSandbox
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.settings import IngestionSettings
from ragline_testing.harness import embedded_settings

TENANT = TenantId("ten_sandbox")


@pytest.fixture
def misbehaving(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return importlib.import_module("test_ingest_sandbox_parsers")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_parser_that_never_returns_is_killed_at_the_timeout(misbehaving: ModuleType) -> None:
    sandbox = ParseSandbox(memory_mb=512, timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(PermanentProcessingError) as caught:
        sandbox.run(misbehaving.SpinningParser(), b"x")
    assert caught.value.detail == "parsing took longer than 1 s"
    assert caught.value.code == "parse_timeout"
    assert time.monotonic() - started < 5


def test_a_parser_over_the_memory_cap_fails_in_the_child_only(misbehaving: ModuleType) -> None:
    before = _peak_rss_mb()
    with pytest.raises(PermanentProcessingError) as caught:
        ParseSandbox(memory_mb=256, timeout_s=20).run(misbehaving.GreedyParser(), b"x")
    assert caught.value.detail == "the document needs more than 256 MB to parse"
    assert _peak_rss_mb() - before < 50


def test_a_crashing_parser_is_a_failed_document_with_a_reason(misbehaving: ModuleType) -> None:
    sandbox = ParseSandbox(memory_mb=512, timeout_s=10)
    with pytest.raises(PermanentProcessingError, match="the parser stopped unexpectedly"):
        sandbox.run(misbehaving.SegfaultingParser(), b"x")
    with pytest.raises(PermanentProcessingError) as caught:
        sandbox.run(misbehaving.BuggyParser(), b"x")
    assert caught.value.code == "parse_failed"
    assert "KeyError" not in caught.value.detail  # no internals in the job's reason


def test_refusals_and_results_cross_the_process_boundary_intact() -> None:
    parsers = default_parsers()
    sandbox = ParseSandbox(memory_mb=512, timeout_s=10)
    document = sandbox.run(parsers.parser_for("text/markdown"), b"# Ducks\n\nThey paddle.")
    assert document == parsers.parser_for("text/markdown").parse(b"# Ducks\n\nThey paddle.")
    with pytest.raises(PermanentProcessingError) as caught:
        sandbox.run(parsers.parser_for("text/plain"), bytes(range(256)) * 8)
    assert caught.value.code == "binary_content"


# --- through the pipeline: bad documents next to good ones -------------------------------------


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[ProcessHost]:
    settings = embedded_settings(CoreSettings(data_dir=tmp_path), hash_dimension=32)
    async with AsyncExitStack() as stack:
        yield ProcessHost(settings, stack)


def _request(document_id: str, content_type: str, content: bytes) -> DocumentIngestRequested:
    return DocumentIngestRequested(
        tenant_id=TENANT,
        document_id=document_id,
        job_id=f"job_{document_id}",
        version=1,
        title=document_id,
        source_name=document_id,
        content_type=content_type,
        content=content,
        content_hash=document_id,
    )


async def test_hostile_documents_fail_alone_while_good_ones_are_indexed(
    host: ProcessHost, misbehaving: ModuleType
) -> None:
    real = default_parsers()
    parsers = ParserRegistry(
        {
            "text/markdown": real.parser_for("text/markdown"),
            "text/plain": real.parser_for("text/plain"),
            "application/pdf": real.parser_for("application/pdf"),
            "application/x-sleeping": misbehaving.SleepingParser(),
            "application/x-greedy": misbehaving.GreedyParser(),
            "application/x-segfaulting": misbehaving.SegfaultingParser(),
        }
    )
    pipeline = IngestionPipeline(
        settings=IngestionSettings(
            parse_timeout_s=3,
            parse_memory_mb=256,
            concurrency=6,
            max_chunk_tokens=32,
            chunk_overlap_tokens=4,
        ),
        parsers=parsers,
        embedder=await host.embedder(),
        vector_store=await host.vector_store(),
        broker=await host.broker(),
    )
    good = b"# Ducks\n\n" + b"Ducks paddle on the lake all day long. " * 20
    requests = [
        _request("good_1", "text/markdown", good),
        _request("sleeping", "application/x-sleeping", b"x"),
        _request("greedy", "application/x-greedy", b"x"),
        _request("segfaulting", "application/x-segfaulting", b"x"),
        _request("truncated", "application/pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog"),
        _request("good_2", "text/plain", good),
    ]
    outcomes: dict[str, str] = {}

    async def ingest(request: DocumentIngestRequested) -> None:
        try:
            await pipeline.ingest(request)
            outcomes[request.document_id] = "indexed"
        except PermanentProcessingError as exc:
            outcomes[request.document_id] = exc.detail

    started = time.monotonic()
    async with anyio.create_task_group() as group:
        for request in requests:
            group.start_soon(ingest, request)
    assert outcomes == {
        "good_1": "indexed",
        "good_2": "indexed",
        "sleeping": "parsing took longer than 3 s",
        "greedy": "the document needs more than 256 MB to parse",
        "segfaulting": "the parser stopped unexpectedly on this document (it may need more "
        "than 256 MB)",
        "truncated": "the PDF is incomplete (it has no end-of-file marker); it was probably "
        "cut off during upload or download",
    }
    # Parsed side by side: the stuck one did not hold the others up.
    assert time.monotonic() - started < 9
    store = await host.vector_store()
    assert await store.count(TENANT, "good_1") > 1
    assert await store.count(TENANT, "good_2") > 1
