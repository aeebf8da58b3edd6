"""Turning uploaded bytes into text with structure, one parser per content type.

A parser is a plain synchronous function of the bytes (run in a worker thread by the pipeline),
registered under the media types it reads. Adding a format (PDF, DOCX, HTML) means writing one
module with a ``Parser`` and registering it in :func:`default_parsers`; chunking and indexing
work on the :class:`ParsedDocument` and do not change.
"""

from __future__ import annotations

from ragline_ingestion.domain.parsing.document import ParsedDocument, Parser, Section
from ragline_ingestion.domain.parsing.markdown import MarkdownParser
from ragline_ingestion.domain.parsing.plain_text import PlainTextParser
from ragline_ingestion.domain.parsing.registry import ParserRegistry, media_type


def default_parsers() -> ParserRegistry:
    markdown = MarkdownParser()
    return ParserRegistry(
        {
            "text/plain": PlainTextParser(),
            "text/markdown": markdown,
            "text/x-markdown": markdown,
        }
    )


__all__ = [
    "MarkdownParser",
    "ParsedDocument",
    "Parser",
    "ParserRegistry",
    "PlainTextParser",
    "Section",
    "default_parsers",
    "media_type",
]
