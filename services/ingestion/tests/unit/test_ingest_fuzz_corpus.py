"""Replays ``fuzz_corpus/``: small inputs that once crashed, hung or froze a parser.

Each goes through the parse sandbox, as the worker parses untrusted formats, so a regression
that hangs costs a ``parse_timeout`` here rather than a frozen test run; what parses is then
chunked in-process. The outcome must be a document or a refusal with a reason: never the
sandbox's "the parser failed on it" (an unexpected exception), a crash or a timeout.

To add a case: save the input as ``<what-it-is>.<extension>`` in ``fuzz_corpus/`` and say
what went wrong in ``fuzz_corpus/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.chunking import ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import DOCX, default_parsers
from ragline_ingestion.domain.parsing.sandbox import ParseSandbox

CORPUS = Path(__file__).resolve().parents[1] / "fuzz_corpus"
CONTENT_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".html": "text/html",
    ".pdf": "application/pdf",
    ".docx": DOCX,
    ".py": "text/x-python",
    ".go": "text/x-go",
    ".rs": "text/x-rust",
    ".c": "text/x-c",
    ".sh": "text/x-sh",
}
# Outcomes that mean the parser itself failed, not the document.
PARSER_FAILURES = {"parse_failed", "parse_crashed", "parse_timeout", "parse_memory_exceeded"}
_TIMEOUT_S = 20.0


def _cases() -> list[Path]:
    return sorted(
        path
        for path in CORPUS.iterdir()
        if path.suffix in CONTENT_TYPES and path.name != "README.md"
    )


def test_every_corpus_file_is_replayed_and_described() -> None:
    described = (CORPUS / "README.md").read_text(encoding="utf-8")
    files = {path.name for path in CORPUS.iterdir()} - {"README.md"}
    assert files == {path.name for path in _cases()}, "unknown extension in the corpus"
    assert [name for name in sorted(files) if f"`{name}`" not in described] == []


def _outcome(path: Path) -> str:
    """``indexed``, or the code of the refusal, as the job would report it."""
    parser = default_parsers().parser_for(CONTENT_TYPES[path.suffix])
    limits = ChunkingLimits(max_tokens=64, overlap_tokens=8, max_chunks=100_000)
    try:
        document = ParseSandbox(memory_mb=512, timeout_s=_TIMEOUT_S).run(parser, path.read_bytes())
        chunks = chunk_document(document, count_tokens=HashEmbedder().count_tokens, limits=limits)
    except PermanentProcessingError as exc:
        return exc.code
    for chunk in chunks:
        assert chunk.text == document.text[chunk.char_start : chunk.char_end]
    return "indexed"


@pytest.mark.parametrize("path", _cases(), ids=lambda path: path.name)
def test_a_corpus_input_is_indexed_or_refused_with_a_reason(path: Path) -> None:
    assert _outcome(path) not in PARSER_FAILURES
