"""``text/plain``: the decoded text is the document, one section without headings."""

from __future__ import annotations

from ragline_ingestion.domain.parsing.decoding import check_line_lengths, decode_text
from ragline_ingestion.domain.parsing.document import ParsedDocument, Section


class PlainTextParser:
    def __init__(self, *, max_line_chars: int) -> None:
        self._max_line_chars = max_line_chars

    def parse(self, content: bytes) -> ParsedDocument:
        text = decode_text(content)
        check_line_lengths(text, self._max_line_chars)
        return ParsedDocument(text=text, sections=(Section((), 0, len(text)),))
