"""Visible text of an HTML fragment, as found in Markdown (``<table>``, ``<div>``, ``<ul>``...).

Block elements become line breaks, table cells are joined with `` | `` so rows stay readable,
and scripts, styles and comments are dropped. A full HTML document parser is a different job
(boilerplate removal, encodings declared in ``<meta>``); this only cleans embedded markup.
"""

from __future__ import annotations

from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead",
        "tfoot", "tr", "ul",
    }
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
_HIDDEN_TAGS = frozenset({"script", "style", "template"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[str]] = [[]]
        self._hidden_depth = 0
        self._cells_in_row = 0

    def handle_starttag(
        self,
        tag: str,
        attrs: list[tuple[str, str | None]],
    ) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif tag in _CELL_TAGS:
            if self._cells_in_row:
                self.lines[-1].append(" | ")
            self._cells_in_row += 1
        elif tag in _BLOCK_TAGS:
            self._break_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._break_line()

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.lines[-1].append(data)

    def _break_line(self) -> None:
        self._cells_in_row = 0
        if self.lines[-1]:
            self.lines.append([])


def html_to_text(markup: str) -> str:
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    lines = (" ".join("".join(parts).split()) for parts in collector.lines)
    return "\n".join(line for line in lines if line)
