"""``text/plain``: the decoded text is the document, one section without headings."""

from __future__ import annotations

from ragline_ingestion.domain.parsing.decoding import decode_text
from ragline_ingestion.domain.parsing.document import ParsedDocument, Section


class PlainTextParser:
    def parse(self, content: bytes) -> ParsedDocument:
        text = decode_text(content)
        return ParsedDocument(text=text, sections=(Section((), 0, len(text)),))
