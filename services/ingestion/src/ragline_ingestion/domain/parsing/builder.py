"""Assembling a :class:`ParsedDocument` block by block, for every structured format.

Parsers walk their format's tree (Markdown tokens, HTML nodes, DOCX paragraphs, PDF pages,
code definitions) and hand over blocks of visible text and section changes; the builder owns
the offsets, so every parser produces sections the same way: ordered, disjoint, trimmed, and
starting with their own heading line, so the first chunk of a section says what it is about.
"""

from __future__ import annotations

from ragline_ingestion.domain.parsing.document import ParsedDocument, Section


class TextBuilder:
    """Appends blocks to the extracted text and records where each section starts and ends."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._content_end = 0
        self._sections: list[Section] = []
        self._path: tuple[str, ...] = ()
        self._page: int | None = None
        self._section_start = 0
        self._pending: tuple[tuple[str, ...], int | None] | None = None

    def open_section(self, path: tuple[str, ...], *, page: int | None = None) -> None:
        # The section starts where its first block lands, after the separator; a section
        # that never receives a block leaves no trace.
        self._pending = (path, page)

    def add_block(self, text: str, *, tight: bool = False) -> None:
        """Append a block after a blank line, or after one newline when ``tight`` (list items,
        table rows): the segmenter treats a blank line as a sentence end, a newline not."""
        text = text.strip()
        if not text:
            return
        if self._length:
            self._append("\n" if tight else "\n\n")
        if self._pending is not None:
            self._close_section()
            (self._path, self._page), self._section_start = self._pending, self._length
            self._pending = None
        self._append(text)
        self._content_end = self._length

    def build(self) -> ParsedDocument:
        self._close_section()
        return ParsedDocument(text="".join(self._parts), sections=tuple(self._sections))

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def _close_section(self) -> None:
        # A section ends with its last block, before the separator that follows it.
        if self._content_end > self._section_start:
            self._sections.append(
                Section(self._path, self._section_start, self._content_end, page=self._page)
            )


class HeadingTrail:
    """The chain of enclosing headings: a heading pops every heading of its level or deeper."""

    def __init__(self) -> None:
        self._headings: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> tuple[str, ...]:
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        self._headings.append((level, title))
        return tuple(text for _, text in self._headings if text)
