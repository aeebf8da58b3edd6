"""Text processing after parsing is bounded: linear time, capped sizes, the event loop free.

Segmenting, chunking and token counting run on text a stranger chose, outside the parse
sandbox, so a pattern that backtracks or a piece that is never cut freezes the worker (and, in
single-process mode, search for everyone). The hostile inputs here are up to a megabyte: the
quadratic code took from twenty minutes to hours on each, the linear code takes seconds. Work
is checked by counting what the tokenizer is asked to read, and by a generous hang budget on a
child process, never by a tight clock.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from ragline_common.adapters.broker.memory import MemoryBroker
from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.errors import PermanentProcessingError
from ragline_common.messages import DocumentIngestRequested
from ragline_common.tenancy import TenantId
from ragline_ingestion.domain.chunking import ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import ParsedDocument, Section, default_parsers
from ragline_ingestion.domain.pipeline import IngestionPipeline
from ragline_ingestion.domain.segmenting import segment
from ragline_ingestion.settings import IngestionSettings

_MB = 2**20
_KB = 2**10
_LIMITS = ChunkingLimits(max_tokens=254, overlap_tokens=32, max_chunks=1_000_000)
# What a text may take in the child, start-up included: the linear code needs a few seconds
# on a loaded machine, the quadratic code it replaces needed hours.
_HANG_BUDGET_S = 90

# A megabyte where the cost per character is small; 256 kB where every character becomes a
# unit of its own (the Python work per unit makes a megabyte take many seconds). Quadratic
# code would need over 20 minutes on 256 kB.
HOSTILE_TEXTS: dict[str, str] = {
    "dots": "." * _MB,
    "dots then a letter": "." * _MB + "x",
    "one word": "a" * _MB,
    "one repeated symbol": "=" * _MB,
    "a letter under a megabyte of combining marks": "a" + "\u0301" * _MB,
    "combining marks alone": "\u0301" * _MB,
    "mixed terminal punctuation": "?!." * (256 * _KB // 3) + "x",
    "ellipsis characters": "…" * 256 * _KB,
    "punctuation and closing quotes": ".\"')" * (64 * _KB) + "x",
    "spaced combining marks": "\u0301 " * (128 * _KB),
    "lines of spaces between words": ("x\n" + " \t" * 499 + "\n") * 256,
    "cjk without spaces": "漢字。" * (256 * _KB // 3),
    "url-like": "https://example.com/" + "a/b?c=d&" * (32 * _KB),
}

_CHILD = """
import json, sys, time
from pathlib import Path
from ragline_common.adapters.embedder import HashEmbedder
from ragline_ingestion.domain.chunking import ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import ParsedDocument, Section

text = Path(sys.argv[1]).read_text(encoding="utf-8")
limits = ChunkingLimits(max_tokens=254, overlap_tokens=32, max_chunks=1_000_000)
started = time.perf_counter()
chunks = chunk_document(
    ParsedDocument(text=text, sections=(Section((), 0, len(text)),)),
    count_tokens=HashEmbedder().count_tokens,
    limits=limits,
)
print(json.dumps({
    "chunks": len(chunks),
    "longest": max(chunk.char_end - chunk.char_start for chunk in chunks),
    "seconds": time.perf_counter() - started,
}))
"""


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXTS))
def test_hostile_text_is_chunked_within_the_hang_budget(name: str, tmp_path: Path) -> None:
    """In a child process, so a regression costs a failed test rather than a frozen run."""
    path = tmp_path / "hostile.txt"
    path.write_text(HOSTILE_TEXTS[name], encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            capture_output=True,
            text=True,
            timeout=_HANG_BUDGET_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"chunking {name!r} took over {_HANG_BUDGET_S} s")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["longest"] <= _LIMITS.max_chars, "no chunk is longer than the character cap"


_PARSE_CHILD = """
import sys
from pathlib import Path
from ragline_ingestion.domain.parsing import default_parsers

document = default_parsers().parser_for(sys.argv[1]).parse(Path(sys.argv[2]).read_bytes())
print(document.text)
"""


def test_markdown_with_deeply_nested_html_is_parsed_within_the_hang_budget(
    tmp_path: Path,
) -> None:
    """Markdown is parsed in the worker, and Lexbor is quadratic in nesting depth: 40,000
    nested elements took 5 s, 200,000 took minutes. The event loop kept running meanwhile
    (Lexbor does not hold the GIL throughout), but a parse slot was gone for minutes."""
    path = tmp_path / "nested.md"
    path.write_bytes(b"<div>\n" * 200_000 + b"deep\n")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PARSE_CHILD, "text/markdown", str(path)],
            capture_output=True,
            text=True,
            timeout=_HANG_BUDGET_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"parsing took over {_HANG_BUDGET_S} s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "deep"


class _CountingTokenizer:
    """The hash embedder's count, remembering how much text it was asked to read."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self._count = HashEmbedder().count_tokens

    def __call__(self, text: str) -> int:
        self.calls.append(len(text))
        return self._count(text)


@pytest.mark.parametrize(
    "name", ["one word", "combining marks alone", "dots", "url-like", "cjk without spaces"]
)
def test_the_tokenizer_reads_each_character_a_bounded_number_of_times(name: str) -> None:
    """Operation count instead of a clock: tokenizing work grows linearly with the text and
    no single call reads more than a chunk's worth of characters."""
    for size in (64 * _KB, 128 * _KB):
        text = HOSTILE_TEXTS[name][:size]
        counter = _CountingTokenizer()
        chunk_document(
            ParsedDocument(text=text, sections=(Section((), 0, len(text)),)),
            count_tokens=counter,
            limits=_LIMITS,
        )
        assert max(counter.calls) <= _LIMITS.max_chars
        assert sum(counter.calls) <= 8 * len(text), (name, size, sum(counter.calls))


def test_a_run_the_tokenizer_calls_one_token_is_still_cut_at_the_character_cap() -> None:
    """WordPiece reads a word over 100 characters as one [UNK]: the token budget alone would
    let a megabyte-long "word" through as a single chunk."""
    text = "a" * 100_000
    units = segment(
        text,
        0,
        len(text),
        count_tokens=HashEmbedder().count_tokens,
        max_tokens=254,
        max_chars=_LIMITS.max_chars,
    )
    assert "".join(text[unit.start : unit.end] for unit in units) == text
    assert max(unit.end - unit.start for unit in units) <= _LIMITS.max_chars


def test_a_document_over_the_character_limit_fails_with_a_reason() -> None:
    text = "Ducks paddle. " * 1000
    limits = ChunkingLimits(
        max_tokens=254, overlap_tokens=32, max_chunks=5000, max_document_chars=10_000
    )
    with pytest.raises(PermanentProcessingError) as caught:
        chunk_document(
            ParsedDocument(text=text, sections=(Section((), 0, len(text)),)),
            count_tokens=HashEmbedder().count_tokens,
            limits=limits,
        )
    assert caught.value.code == "document_too_long"
    assert caught.value.detail == (
        "the document has 14000 characters of text; the limit is 10000 "
        "(split it into smaller documents)"
    )


def test_chunking_past_its_deadline_fails_with_a_reason() -> None:
    """Chunking runs in a worker thread, which cannot be killed: it checks its own deadline."""
    text = "Ducks paddle. " * 1000
    limits = ChunkingLimits(max_tokens=254, overlap_tokens=32, max_chunks=5000, max_seconds=0.0)
    with pytest.raises(PermanentProcessingError) as caught:
        chunk_document(
            ParsedDocument(text=text, sections=(Section((), 0, len(text)),)),
            count_tokens=HashEmbedder().count_tokens,
            limits=limits,
        )
    assert caught.value.code == "chunk_timeout"
    assert caught.value.detail == "cutting the document into chunks took longer than 0 s"


def test_the_document_character_limit_is_a_setting() -> None:
    settings = IngestionSettings(max_document_chars=123_456)
    assert settings.chunking_limits.max_document_chars == 123_456
    assert IngestionSettings().chunking_limits.max_document_chars == 10_000_000
    assert IngestionSettings(parse_timeout_s=7).chunking_limits.max_seconds == 7


# --- the worker stays responsive ----------------------------------------------------------------

TENANT = TenantId("ten_hostile")


def _request(content: bytes, content_type: str) -> DocumentIngestRequested:
    return DocumentIngestRequested(
        tenant_id=TENANT,
        document_id="doc_hostile",
        job_id="job_hostile",
        version=1,
        title="Hostile",
        source_name="hostile",
        content_type=content_type,
        content=content,
        content_hash=hashlib.sha256(content).hexdigest(),
        metadata={},
    )


# Each was quadratic (the Go one cubic) in a text format then parsed in the worker itself:
# 40,000 characters took the old code over half a minute holding the GIL, so the event loop
# stood still. Code is now parsed in the sandbox, and these also check its patterns stay fast.
STALLING_UPLOADS = {
    "terminal punctuation": ("text/plain", (b"." * 40_000 + b"x\n") * 3),
    "c declarator": ("text/x-c", b"a:" * 20_000 + b"x\n"),
    "rust impl": ("text/x-rust", b"impl a" + b" " * 40_000 + b"b\n"),
    "shell function": ("text/x-sh", b"f()" + b" " * 40_000 + b"x\n"),
    # Cubic: 300 spaces took the old Go pattern 0.7 s, 40,000 would take years.
    "go receiver": ("text/x-go", b"func (" + b" " * 40_000 + b"x\n"),
}


@pytest.mark.parametrize("name", sorted(STALLING_UPLOADS))
async def test_the_event_loop_keeps_running_while_a_hostile_upload_is_processed(
    name: str, tmp_path: Path
) -> None:
    """Readiness probes and other messages are served by the same loop: it must not stall."""
    content_type, content = STALLING_UPLOADS[name]
    store = EdgeVectorStore(tmp_path / "vectors", dimension=32)
    broker = MemoryBroker()
    await store.open()
    await broker.start()
    pipeline = IngestionPipeline(
        settings=IngestionSettings(),
        parsers=default_parsers(),
        embedder=HashEmbedder(32),
        vector_store=store,
        broker=broker,
    )
    longest_stall = 0.0
    done = anyio.Event()

    async def tick() -> None:
        nonlocal longest_stall
        last = time.perf_counter()
        while not done.is_set():
            await anyio.sleep(0.01)
            now = time.perf_counter()
            longest_stall = max(longest_stall, now - last)
            last = now

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(tick)
            try:
                await pipeline.ingest(_request(content, content_type))
            finally:
                done.set()
        assert await store.count(TENANT, "doc_hostile") > 0
    finally:
        await broker.close()
        await store.close()
    # Linear code needs milliseconds here; the old patterns held the loop for over 30 s.
    assert longest_stall < 5.0, f"the event loop stood still for {longest_stall:.1f} s"


# --- what is parsed in the worker itself --------------------------------------------------------

MEMORY_HUNGRY_UPLOADS = {
    # 300 kB of Python whose syntax tree takes over 100 MB (10 MB would take 3 GB).
    "python list literal": ("text/x-python", b"x = [\n" + b"1,\n" * 100_000 + b"]\n"),
    # 400 kB of Markdown table: markdown-it's tokens take over 130 MB, and 7 s.
    "markdown table": ("text/markdown", b"| a | b |\n|---|---|\n" + b"| x | y |\n" * 40_000),
}


@pytest.mark.parametrize("name", sorted(MEMORY_HUNGRY_UPLOADS))
async def test_code_and_markdown_are_parsed_in_the_memory_capped_sandbox(
    name: str, tmp_path: Path
) -> None:
    """Parsed in the worker, a handful of such uploads could exhaust its memory (and a thread
    cannot be stopped at the parse deadline); in the sandbox each is one failed job."""
    content_type, content = MEMORY_HUNGRY_UPLOADS[name]
    store = EdgeVectorStore(tmp_path / "vectors", dimension=32)
    broker = MemoryBroker()
    await store.open()
    await broker.start()
    pipeline = IngestionPipeline(
        settings=IngestionSettings(parse_memory_mb=128),
        parsers=default_parsers(),
        embedder=HashEmbedder(32),
        vector_store=store,
        broker=broker,
    )
    try:
        with pytest.raises(PermanentProcessingError) as caught:
            await pipeline.ingest(_request(content, content_type))
    finally:
        await broker.close()
        await store.close()
    assert caught.value.code == "parse_memory_exceeded"
