"""A section that fits in one chunk is counted once, and gives the chunks packing gave.

The whole-section try (``chunking._whole``) is switched off by a zero
``WHOLE_CHARS_PER_TOKEN``, so the same documents can be chunked with and without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline_common.adapters.embedder import HashEmbedder
from ragline_ingestion.domain import chunking
from ragline_ingestion.domain.chunking import Chunk, ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import ParsedDocument, Section, default_parsers

WORDS = HashEmbedder().count_tokens
ABSTRACT = (
    "Alterations of the architecture of cerebral white matter in the developing human brain "
    "can affect cortical development. We used diffusion tensor imaging to measure the "
    "apparent diffusion coefficient in preterm infants.  Results showed that the mean "
    "diffusion coefficient decreased with age.\n\nConclusions: these data support the "
    "hypothesis that white matter injury alters development."
)
DOCUMENTS = [("md/wiki.md", "text/markdown"), ("txt/war-and-peace.txt", "text/plain")]


def chunks_of(
    document: ParsedDocument, limits: ChunkingLimits, *, try_whole: bool
) -> tuple[list[Chunk], int]:
    """The chunks, and how many token counts they took."""
    taken = 0

    def count(text: str) -> int:
        nonlocal taken
        taken += 1
        return WORDS(text)

    with pytest.MonkeyPatch.context() as patch:
        if not try_whole:
            patch.setattr(chunking, "WHOLE_CHARS_PER_TOKEN", 0)
        chunks = chunk_document(document, count_tokens=count, limits=limits)
    return chunks, taken


@pytest.mark.parametrize(("path", "media_type"), DOCUMENTS)
@pytest.mark.parametrize("max_tokens", [24, 64, 254])
def test_real_documents_give_the_same_chunks_with_and_without_the_whole_section_try(
    shared_docs: Path, path: str, media_type: str, max_tokens: int
) -> None:
    raw = (shared_docs / path).read_bytes()[:200_000]
    document = default_parsers().parser_for(media_type).parse(raw)
    limits = ChunkingLimits(max_tokens=max_tokens, overlap_tokens=8, max_chunks=100_000)

    tried, _ = chunks_of(document, limits, try_whole=True)
    packed, _ = chunks_of(document, limits, try_whole=False)

    assert tried == packed
    assert len({chunk.heading_path for chunk in tried}) > 1 or media_type == "text/plain"


def test_an_abstract_that_fits_is_one_chunk_counted_once() -> None:
    padded = f"\n  {ABSTRACT} \n\n"
    document = ParsedDocument(text=padded, sections=(Section((), 0, len(padded)),))
    limits = ChunkingLimits(max_tokens=254, overlap_tokens=32, max_chunks=10)
    counted: list[str] = []

    def count(text: str) -> int:
        counted.append(text)
        return WORDS(text)

    [chunk] = chunk_document(document, count_tokens=count, limits=limits)

    assert counted == [ABSTRACT]
    assert chunk.text == ABSTRACT
    assert padded[chunk.char_start : chunk.char_end] == ABSTRACT
    assert chunk.token_count == WORDS(ABSTRACT)
    assert chunks_of(document, limits, try_whole=False)[0] == [chunk]


def test_a_section_too_long_for_one_chunk_is_packed_as_before() -> None:
    document = ParsedDocument(text=ABSTRACT, sections=(Section((), 0, len(ABSTRACT)),))
    limits = ChunkingLimits(max_tokens=20, overlap_tokens=6, max_chunks=10)

    tried, _ = chunks_of(document, limits, try_whole=True)

    assert len(tried) > 1
    assert tried == chunks_of(document, limits, try_whole=False)[0]
