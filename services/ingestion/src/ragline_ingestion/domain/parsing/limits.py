"""Per-document limits the parsers enforce themselves (the sandbox enforces time and memory)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParseLimits:
    max_pages: int = 2000
    """PDF pages; a longer PDF fails before any page is read."""
    max_decompressed_bytes: int = 256 * 2**20
    """Bytes a DOCX may inflate to (the parts actually read): the zip-bomb guard."""
    max_line_chars: int = 100_000
    """Longest line a text format (plain, Markdown, code) may have. Longer lines are minified,
    generated or binary-ish data that reads as noise in search results, and whitespace-free
    runs of that size are costly to cut into chunks."""
