"""``text/markdown``: text without markup, sectioned by the heading hierarchy.

markdown-it-py (CommonMark plus tables) does the parsing; this module walks its block tokens
and keeps what a reader sees: heading and paragraph text, list items one per line, table rows
with `` | `` between cells, code blocks verbatim, the visible text of embedded HTML. Emphasis,
link targets, fences and list markers are dropped. Each heading opens a section whose path is
the chain of enclosing headings (``("IBM", "1910s-1950s")``); the heading's own text is the
first line of its section, so the first chunk of a section says what it is about.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ragline_ingestion.domain.parsing.builder import HeadingTrail, TextBuilder
from ragline_ingestion.domain.parsing.decoding import check_line_lengths, decode_text
from ragline_ingestion.domain.parsing.document import ParsedDocument
from ragline_ingestion.domain.parsing.html import html_fragment_text


def _inline_text(token: Token) -> str:
    pieces: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline", "image"):
            # An image's ``content`` is its alt text.
            pieces.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            pieces.append("\n")
    return "".join(pieces)


@functools.cache
def _markdown_it() -> MarkdownIt:
    # Built once per process, not held by the parser: parsers travel to the parse sandbox by
    # pickle, and a MarkdownIt instance does not pickle.
    return MarkdownIt("commonmark", {"html": True}).enable("table")


class MarkdownParser:
    def __init__(self, *, max_line_chars: int) -> None:
        self._max_line_chars = max_line_chars

    def parse(self, content: bytes) -> ParsedDocument:
        text = decode_text(content)
        check_line_lengths(text, self._max_line_chars)
        tokens = _markdown_it().parse(text)
        builder = TextBuilder()
        _walk(tokens, builder)
        return builder.build()


def _walk(tokens: Sequence[Token], builder: TextBuilder) -> None:
    headings = HeadingTrail()
    row: list[str] | None = None
    first_row = False
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index else None
        match token.type:
            case "heading_open":
                title = " ".join(_inline_text(tokens[index + 1]).split())
                builder.open_section(headings.enter(int(token.tag[1:]), title))
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
                builder.add_block(html_fragment_text(token.content))
