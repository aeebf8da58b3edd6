"""``text/html``: the visible text of a page, sectioned by its ``<h1>``-``<h6>`` headings.

selectolax's Lexbor backend builds the tree the way a browser does (HTML5 error recovery, so
broken markup reads as it renders). The walk keeps what a reader sees: block elements become
paragraphs, list items one per line, table rows one per line with `` | `` between cells,
``<pre>`` verbatim, image alt text; scripts, styles, templates, ``<head>`` and elements marked
``hidden`` are dropped. Each heading opens a section whose path is the chain of enclosing
headings, as in Markdown. The walk is iterative, so absurdly deep nesting cannot exhaust the
Python stack. No boilerplate removal: navigation text is text a user may search for.

The same walk gives the visible text of HTML fragments embedded in Markdown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ragline_ingestion.domain.parsing.attributes import attribute_int
from ragline_ingestion.domain.parsing.builder import HeadingTrail, TextBuilder
from ragline_ingestion.domain.parsing.decoding import decode_text
from ragline_ingestion.domain.parsing.document import ParsedDocument

_HIDDEN_TAGS = frozenset({"head", "script", "style", "template", "noscript", "svg", "math"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "header", "hgroup", "hr", "legend", "li", "main", "menu", "nav", "ol", "p", "section",
        "summary", "ul",
    }
)  # fmt: skip
_TIGHT_TAGS = frozenset({"li", "dt", "dd"})
_HEADING = re.compile(r"h([1-6])")
# A colspan repeats the cell so every row keeps its columns aligned with the header row;
# capped so a hostile colspan cannot multiply the text.
_MAX_COLSPAN = 16
# The HTML standard's prescan looks for a charset declaration in the first 1024 bytes.
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_PRESCAN_BYTES = 1024
_MAX_FRAGMENT_START_TAGS = 4096
_START_TAG = re.compile(r"<[A-Za-z]")
_TAG = re.compile(r"<[^<>]*+>")


def decode_html(content: bytes) -> str:
    """The page's text: its byte order mark, else its ``<meta charset>`` if the bytes agree,
    else detection (see :func:`decode_text`)."""
    declared = _META_CHARSET.search(content[:_PRESCAN_BYTES])
    return decode_text(content, declared=declared.group(1).decode("ascii") if declared else None)


class HtmlParser:
    def parse(self, content: bytes) -> ParsedDocument:
        tree = LexborHTMLParser(decode_html(content))
        builder = TextBuilder()
        if tree.root is not None:
            _Walker(builder).walk(tree.root)
        return builder.build()


def html_fragment_text(markup: str) -> str:
    """Visible text of a fragment (``<table>``, ``<div>``...) as found inside Markdown.

    Markdown is parsed in the worker, outside the sandbox, and Lexbor's tree building is
    quadratic in the nesting depth (each start tag looks through the open elements): 40,000
    nested ``<div>`` lines took 5 s, holding the GIL. A fragment with more start tags than any
    real table or figure has is read by dropping its tags instead: the same words, no layout.
    """
    if len(_START_TAG.findall(markup)) > _MAX_FRAGMENT_START_TAGS:
        return _tidy_lines(html.unescape(_TAG.sub(" ", markup)))
    builder = TextBuilder()
    tree = LexborHTMLParser(markup)
    if tree.body is not None:
        _Walker(builder, sections=False).walk(tree.body)
    return builder.build().text


class _Walker:
    def __init__(self, builder: TextBuilder, *, sections: bool = True) -> None:
        self._builder = builder
        self._sections = sections
        self._headings = HeadingTrail()
        self._inline: list[str] = []
        self._tight = False
        self._pre_depth = 0

    def walk(self, root: LexborNode) -> None:
        # Explicit stack of (node, closing): closing entries flush the block the node opened.
        stack: list[tuple[LexborNode, bool]] = [(root, False)]
        while stack:
            node, closing = stack.pop()
            if closing:
                self._close(node)
                continue
            if self._visit(node):
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(list(_children(node))))
        self._flush()

    def _visit(self, node: LexborNode) -> bool:
        """Handle a node on the way down; ``True`` if its children are to be walked."""
        if node.is_text_node:
            self._inline.append(node.text_content or "")
            return False
        tag = node.tag or ""
        if not node.is_element_node or tag in _HIDDEN_TAGS or "hidden" in node.attributes:
            return False
        heading = _HEADING.fullmatch(tag)
        if heading:
            self._heading(int(heading.group(1)), _node_text(node))
            return False
        match tag:
            case "table":
                self._table(node)
                return False
            case "br":
                self._inline.append("\n")
            case "img":
                self._inline.append(f" {node.attributes.get('alt') or ''} ")
            case "pre":
                self._flush()
                self._pre_depth += 1
            case _ if tag in _BLOCK_TAGS:
                self._flush()
                self._tight = tag in _TIGHT_TAGS
        return True

    def _close(self, node: LexborNode) -> None:
        tag = node.tag or ""
        if tag == "pre":
            self._flush()
            self._pre_depth -= 1
        elif tag in _BLOCK_TAGS:
            self._flush()
            self._tight = False

    def _heading(self, level: int, title: str) -> None:
        self._flush()
        if self._sections:
            self._builder.open_section(self._headings.enter(level, title))
        self._builder.add_block(title)

    def _table(self, table: LexborNode) -> None:
        self._flush()
        caption = table.css_first("caption")
        if caption is not None:
            self._builder.add_block(_node_text(caption))
        first = True
        for row in table.css("tr"):
            if _enclosing_table(row) != table.mem_id:
                continue  # a nested table's row: part of its cell's text
            cells: list[str] = []
            for cell in _children(row):
                if cell.tag in ("td", "th"):
                    cells.extend([_node_text(cell)] * _colspan(cell))
            if any(cells):
                self._builder.add_block(" | ".join(cells), tight=not first)
                first = False

    def _flush(self) -> None:
        text = "".join(self._inline)
        self._inline.clear()
        if self._pre_depth:
            self._builder.add_block(text.strip("\n"), tight=self._tight)
            return
        self._builder.add_block(_tidy_lines(text), tight=self._tight)


def _tidy_lines(text: str) -> str:
    """Runs of whitespace as one space, line by line, without blank lines."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        yield child
        child = child.next


def _enclosing_table(node: LexborNode) -> int | None:
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return None if parent is None else parent.mem_id


def _node_text(node: LexborNode) -> str:
    """Visible text of an inline context (heading, table cell), on one line."""
    pieces: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_text_node:
            pieces.append(current.text_content or "")
        elif current.is_element_node and (current.tag or "") not in _HIDDEN_TAGS:
            if current.tag == "img":
                pieces.append(f" {current.attributes.get('alt') or ''} ")
            elif current.tag in _BLOCK_TAGS or current.tag in ("br", "tr", "td", "th"):
                pieces.append(" ")
            stack.extend(reversed(list(_children(current))))
    return " ".join("".join(pieces).split())


def _colspan(cell: LexborNode) -> int:
    span = attribute_int(cell.attributes.get("colspan"))
    return min(span, _MAX_COLSPAN) if span else 1
