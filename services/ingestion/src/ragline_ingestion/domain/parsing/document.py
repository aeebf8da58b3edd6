"""What every parser produces: the extracted text and the structure laid over it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Section:
    """A stretch ``text[start:end]`` under one heading path (and, for paged formats, one page).

    Chunks never cross a section boundary, so each chunk has one heading path and one page.
    """

    heading_path: tuple[str, ...]
    start: int
    end: int
    page: int | None = None


@dataclass(frozen=True)
class ParsedDocument:
    """Plain text without markup, and its sections in order, non-overlapping.

    Chunk offsets point into ``text``; a citation can always be cut back out of it.
    """

    text: str
    sections: tuple[Section, ...]


class Parser(Protocol):
    def parse(self, content: bytes) -> ParsedDocument:
        """Extract text; raise ``PermanentProcessingError`` with a human reason if impossible."""
