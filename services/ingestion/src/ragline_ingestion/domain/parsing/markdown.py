"""``text/markdown``: text without markup, sectioned by the heading hierarchy.

markdown-it-py (CommonMark plus tables) does the parsing; this module walks its block tokens
and keeps what a reader sees: heading and paragraph text, list items one per line, table rows
with `` | `` between cells, code blocks verbatim, the visible text of embedded HTML. Emphasis,
link targets, fences and list markers are dropped. Each heading opens a section whose path is
the chain of enclosing headings (``("IBM", "1910s-1950s")``); the heading's own text is the
first line of its section, so the first chunk of a section says what it is about.
"""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ragline_ingestion.domain.parsing.decoding import decode_text
from ragline_ingestion.domain.parsing.document import ParsedDocument, Section
from ragline_ingestion.domain.parsing.html_text import html_to_text


class _TextBuilder:
    """Appends blocks to the extracted text and records where each section starts and ends."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._content_end = 0
        self._sections: list[Section] = []
        self._path: tuple[str, ...] = ()
        self._section_start = 0
        self._pending_path: tuple[str, ...] | None = None

    def open_section(self, path: tuple[str, ...]) -> None:
        # The section starts where its first block lands, after the separator.
        self._pending_path = path

    def add_block(self, text: str, *, tight: bool = False) -> None:
        """Append a block after a blank line, or after one newline when ``tight`` (list items,
        table rows)."""
        text = text.strip()
        if not text:
            return
        if self._length:
            self._append("\n" if tight else "\n\n")
        if self._pending_path is not None:
            self._close_section()
            self._path, self._section_start = self._pending_path, self._length
            self._pending_path = None
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
            self._sections.append(Section(self._path, self._section_start, self._content_end))


def _inline_text(token: Token) -> str:
    pieces: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline", "image"):
            # An image's ``content`` is its alt text.
            pieces.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            pieces.append("\n")
    return "".join(pieces)


class MarkdownParser:
    def __init__(self) -> None:
        self._markdown = MarkdownIt("commonmark", {"html": True}).enable("table")

    def parse(self, content: bytes) -> ParsedDocument:
        tokens = self._markdown.parse(decode_text(content))
        builder = _TextBuilder()
        _walk(tokens, builder)
        return builder.build()


def _walk(tokens: Sequence[Token], builder: _TextBuilder) -> None:
    headings: list[tuple[int, str]] = []
    row: list[str] | None = None
    first_row = False
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index else None
        match token.type:
            case "heading_open":
                level = int(token.tag[1:])
                title = " ".join(_inline_text(tokens[index + 1]).split())
                while headings and headings[-1][0] >= level:
                    headings.pop()
                headings.append((level, title))
                builder.open_section(tuple(text for _, text in headings if text))
                builder.add_block(title)
            case "table_open":
                first_row = True
            case "tr_open":
                row = []
            case "tr_close" if row is not None:
                builder.add_block(" | ".join(row), tight=not first_row)
                row, first_row = None, False
            case "inline" if row is not None:
                row.append(" ".join(_inline_text(token).split()))
            case "inline" if previous is not None and previous.type == "paragraph_open":
                # Paragraphs of tight lists are hidden: their items go one per line.
                builder.add_block(_inline_text(token), tight=previous.hidden)
            case "fence" | "code_block":
                builder.add_block(token.content)
            case "html_block":
                builder.add_block(html_to_text(token.content))
