"""Turning uploaded bytes into text with structure, one parser per content type.

A parser is a plain synchronous function of the bytes, registered under the media types it
reads; the pipeline runs it in a sandboxed child process (:mod:`.sandbox`). Adding a format
means writing one module with a ``Parser`` and registering it in :func:`default_parsers`;
chunking and indexing work on the :class:`ParsedDocument` and do not change.

Source code is registered under the media types in common use (IANA has few for code); the
gateway maps file extensions to these (see ADR 0007).
"""

from __future__ import annotations

from ragline_ingestion.domain.parsing.code import CodeParser
from ragline_ingestion.domain.parsing.document import ParsedDocument, Parser, Section
from ragline_ingestion.domain.parsing.docx import DocxParser
from ragline_ingestion.domain.parsing.html import HtmlParser
from ragline_ingestion.domain.parsing.limits import ParseLimits
from ragline_ingestion.domain.parsing.markdown import MarkdownParser
from ragline_ingestion.domain.parsing.pdf import PdfParser
from ragline_ingestion.domain.parsing.plain_text import PlainTextParser
from ragline_ingestion.domain.parsing.registry import ParserRegistry, media_type

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CODE_MEDIA_TYPES: dict[str, str] = {
    "text/x-python": "python",
    "text/x-script.python": "python",
    "application/x-python-code": "python",
    "text/javascript": "javascript",
    "application/javascript": "javascript",
    "application/typescript": "typescript",
    "text/x-typescript": "typescript",
    "text/x-go": "go",
    "text/x-java": "java",
    "text/x-java-source": "java",
    "text/x-kotlin": "kotlin",
    "text/x-scala": "scala",
    "text/x-swift": "swift",
    "text/x-csharp": "csharp",
    "text/x-c": "c",
    "text/x-csrc": "c",
    "text/x-chdr": "c",
    "text/x-c++": "cpp",
    "text/x-c++src": "cpp",
    "text/x-c++hdr": "cpp",
    "text/x-rust": "rust",
    "text/x-ruby": "ruby",
    "text/x-php": "php",
    "application/x-httpd-php": "php",
    "text/x-sh": "shell",
    "application/x-sh": "shell",
    "text/x-shellscript": "shell",
}


IN_PROCESS_MEDIA_TYPES: frozenset[str] = frozenset({"text/plain"})
"""Formats parsed in the worker itself rather than in the sandbox: only plain text, whose
parse is decoding and a line-length check, linear in time and memory.

Markdown and source code were here too, for the ~30 ms a sandbox process costs, until they
proved anything but cheap: markdown-it's tokens for a 400 kB table took 130 MB and 7 s, the
syntax tree of 300 kB of Python 100 MB, Lexbor on HTML in Markdown is quadratic in nesting
depth, and a thread cannot be stopped at the parse deadline. A 10 MB upload of either could
take the worker's memory; in the sandbox it is capped, killed on time, and one failed job."""


def default_parsers(limits: ParseLimits | None = None) -> ParserRegistry:
    limits = limits or ParseLimits()
    markdown = MarkdownParser(max_line_chars=limits.max_line_chars)
    html = HtmlParser()
    code = {
        language: CodeParser(language, max_line_chars=limits.max_line_chars)
        for language in set(CODE_MEDIA_TYPES.values())
    }
    return ParserRegistry(
        {
            "text/plain": PlainTextParser(max_line_chars=limits.max_line_chars),
            "text/markdown": markdown,
            "text/x-markdown": markdown,
            "text/html": html,
            "application/xhtml+xml": html,
            "application/pdf": PdfParser(max_pages=limits.max_pages),
            DOCX: DocxParser(max_decompressed_bytes=limits.max_decompressed_bytes),
            **{name: code[language] for name, language in CODE_MEDIA_TYPES.items()},
        }
    )


__all__ = [
    "CODE_MEDIA_TYPES",
    "DOCX",
    "IN_PROCESS_MEDIA_TYPES",
    "CodeParser",
    "DocxParser",
    "HtmlParser",
    "MarkdownParser",
    "ParseLimits",
    "ParsedDocument",
    "Parser",
    "ParserRegistry",
    "PdfParser",
    "PlainTextParser",
    "Section",
    "default_parsers",
    "media_type",
]
