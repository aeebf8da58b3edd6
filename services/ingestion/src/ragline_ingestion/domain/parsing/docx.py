"""DOCX (``application/vnd.openxmlformats-officedocument.wordprocessingml.document``).

Our own reader over the OOXML package rather than python-docx: it streams
``word/document.xml`` through the guarded package reader (zip bombs, XML entities: see
:mod:`.ooxml`) instead of loading every part into memory, and it sees the body in document
order, tables included. What it keeps:

- paragraphs, one block each; list paragraphs one per line; line breaks and tabs;
- headings (a paragraph style whose outline level or built-in name says "heading N", and the
  Title style above them) open a section whose path is the chain of enclosing headings, as in
  Markdown and HTML;
- tables, one line per row with `` | `` between cells; a merged cell repeats in every
  column and row it spans, so each row reads on its own next to the header row;
- text in text boxes and content controls; field results (not field codes), not deleted text,
  and only one rendering of alternate content (``mc:Fallback`` repeats ``mc:Choice``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ragline_ingestion.domain.parsing.attributes import attribute_int
from ragline_ingestion.domain.parsing.builder import HeadingTrail, TextBuilder
from ragline_ingestion.domain.parsing.document import ParsedDocument
from ragline_ingestion.domain.parsing.ooxml import OoxmlPackage

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_VAL = f"{_W} val"
_HEADING_NAME = re.compile(r"heading\s*([1-9])", re.I)
_BODY_TEXT_OUTLINE_LEVEL = 9
# The built-in Title style heads the whole document: level 0, above "heading 1".
_TITLE = "title"
_MAX_STYLE_CHAIN = 16
_MAX_SPAN = 16  # a hostile gridSpan must not multiply the text


def _w(local: str) -> str:
    return f"{_W} {local}"


class DocxParser:
    def __init__(self, *, max_decompressed_bytes: int) -> None:
        self._max_decompressed_bytes = max_decompressed_bytes

    def parse(self, content: bytes) -> ParsedDocument:
        package = OoxmlPackage(content, max_decompressed_bytes=self._max_decompressed_bytes)
        main = package.main_part()
        styles = _read_heading_styles(package, main)
        body = _BodyReader(styles)
        package.stream(main, start=body.start, end=body.end, text=body.text)
        return body.builder.build()


@dataclass
class _Style:
    based_on: str | None = None
    name: str = ""
    outline_level: int | None = None


def _read_heading_styles(package: OoxmlPackage, main: str) -> dict[str, int]:
    """Paragraph style id -> heading level (1-based), following ``basedOn`` chains."""
    styles_part = f"{main.rsplit('/', 1)[0]}/styles.xml" if "/" in main else "styles.xml"
    styles: dict[str, _Style] = {}
    current: list[_Style] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == _w("style") and attributes.get(_w("type")) == "paragraph":
            style = _Style()
            styles[attributes.get(_w("styleId"), "")] = style
            current[:] = [style]
        elif current and name == _w("name"):
            current[0].name = attributes.get(_VAL, "")
        elif current and name == _w("basedOn"):
            current[0].based_on = attributes.get(_VAL)
        elif current and name == _w("outlineLvl"):
            current[0].outline_level = attribute_int(attributes.get(_VAL))

    def end(name: str) -> None:
        if name == _w("style"):
            current.clear()

    if package.has(styles_part):
        package.stream(styles_part, start=start, end=end)
    levels: dict[str, int] = {}
    for style_id in styles:
        level = _style_level(styles, style_id)
        if level is not None:
            levels[style_id] = level
    return levels


def _style_level(styles: dict[str, _Style], style_id: str) -> int | None:
    for _ in range(_MAX_STYLE_CHAIN):
        style = styles.get(style_id)
        if style is None:
            break
        if style.outline_level is not None:
            return _heading_level(style.outline_level)
        name = style.name.strip()
        if name.lower() == _TITLE:
            return 0
        named = _HEADING_NAME.fullmatch(name)
        if named:
            return int(named.group(1))
        if style.based_on is None:
            break
        style_id = style.based_on
    # No styles part (or a broken one): Word's own ids for its built-in headings.
    named = _HEADING_NAME.fullmatch(style_id)
    return int(named.group(1)) if named else None


def _heading_level(outline_level: int) -> int | None:
    return outline_level + 1 if 0 <= outline_level < _BODY_TEXT_OUTLINE_LEVEL else None


@dataclass
class _Paragraph:
    parts: list[str] = field(default_factory=list)
    style: str | None = None
    outline_level: int | None = None
    listed: bool = False

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


@dataclass
class _Cell:
    texts: list[str] = field(default_factory=list)
    span: int = 1
    merged_from_above: bool = False


@dataclass
class _Table:
    rows_written: int = 0
    row: list[_Cell] = field(default_factory=list)
    above: list[str] = field(default_factory=list)  # the previous row, one entry per column


class _BodyReader:
    """expat handlers that turn the body of ``document.xml`` into blocks."""

    def __init__(self, heading_styles: dict[str, int]) -> None:
        self.builder = TextBuilder()
        self._heading_styles = heading_styles
        self._headings = HeadingTrail()
        self._paragraphs: list[_Paragraph] = []
        self._tables: list[_Table] = []
        self._in_text = False
        self._skip_depth = 0  # inside mc:Fallback, deleted text or a field code

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if self._skip_depth:
            self._skip_depth += 1
            return
        match name.partition(" ")[2] if name.startswith(_W) else name:
            case "p":
                self._paragraphs.append(_Paragraph())
            case "t":
                self._in_text = True
            case "tab" if self._paragraphs:
                self._paragraphs[-1].parts.append(" ")
            case "br" | "cr" if self._paragraphs:
                self._paragraphs[-1].parts.append("\n")
            case "noBreakHyphen" if self._paragraphs:
                self._paragraphs[-1].parts.append("-")
            case "pStyle" if self._paragraphs:
                self._paragraphs[-1].style = attributes.get(_VAL)
            case "outlineLvl" if self._paragraphs:
                self._paragraphs[-1].outline_level = attribute_int(attributes.get(_VAL))
            case "numPr" if self._paragraphs:
                self._paragraphs[-1].listed = True
            case "tbl":
                self._tables.append(_Table())
            case "tr" if self._tables:
                self._tables[-1].row = []
            case "tc" if self._tables:
                self._tables[-1].row.append(_Cell())
            case "gridSpan" if self._tables and self._tables[-1].row:
                self._tables[-1].row[-1].span = min(
                    attribute_int(attributes.get(_VAL)) or 1, _MAX_SPAN
                )
            case "vMerge" if self._tables and self._tables[-1].row:
                # No value, or "continue", continues the cell above; "restart" starts one.
                self._tables[-1].row[-1].merged_from_above = attributes.get(_VAL) != "restart"
            case "delText" | "instrText":
                self._skip_depth = 1
            case _ if name == f"{_MC} Fallback":
                self._skip_depth = 1

    def end(self, name: str) -> None:
        if self._skip_depth:
            self._skip_depth -= 1
            return
        match name.partition(" ")[2] if name.startswith(_W) else name:
            case "t":
                self._in_text = False
            case "p" if self._paragraphs:
                self._end_paragraph(self._paragraphs.pop())
            case "tr" if self._tables:
                self._end_row(self._tables[-1])
            case "tbl" if self._tables:
                self._tables.pop()

    def text(self, data: str) -> None:
        if self._in_text and not self._skip_depth and self._paragraphs:
            self._paragraphs[-1].parts.append(data)

    def _end_paragraph(self, paragraph: _Paragraph) -> None:
        text = paragraph.text()
        if self._paragraphs:
            # A paragraph in a text box belongs to the paragraph that anchors the box.
            self._paragraphs[-1].parts.append(f"\n{text}\n")
        elif self._tables:
            table = self._tables[-1]
            if table.row:
                table.row[-1].texts.append(text)
        elif text:
            level = self._level(paragraph)
            if level is None:
                self.builder.add_block(text, tight=paragraph.listed)
            else:
                self.builder.open_section(self._headings.enter(level, " ".join(text.split())))
                self.builder.add_block(text)

    def _end_row(self, table: _Table) -> None:
        columns: list[str] = []
        for cell in table.row:
            text = " ".join(" ".join(cell.texts).split())
            for _ in range(cell.span):
                column = len(columns)
                if cell.merged_from_above and column < len(table.above):
                    columns.append(table.above[column])
                else:
                    columns.append(text)
        table.above, table.row = columns, []
        if not any(columns):
            return
        line = " | ".join(columns)
        if len(self._tables) > 1:
            # A nested table is text of the outer table's current cell.
            outer = self._tables[-2]
            if outer.row:
                outer.row[-1].texts.append(line)
            return
        self.builder.add_block(line, tight=table.rows_written > 0)
        table.rows_written += 1

    def _level(self, paragraph: _Paragraph) -> int | None:
        if paragraph.outline_level is not None:
            return _heading_level(paragraph.outline_level)
        if paragraph.style is None:
            return None
        return self._heading_styles.get(paragraph.style)
