"""Which documents the gateway accepts, and under what name: one rule for every door.

A REST upload and a queue-drop message must be refused or accepted alike, so both read the
supported types here. A new format means one entry in :data:`EXTENSION_TYPES` (and a parser in
the ingestion service for its media type).
"""

from __future__ import annotations

import re
from pathlib import PurePath

EXTENSION_TYPES: dict[str, str] = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
}
"""File extension (lower case) -> media type, for documents sent as files."""

TEXT_CONTENT_TYPES: frozenset[str] = frozenset({"text/plain", "text/markdown"})
"""Media types a document sent as inline text may declare."""

_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_source_name(filename: str | None) -> str:
    """The file's base name without directories or control characters (no path traversal)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip(" .")
    return name[:255] or "upload"


def content_type_for(source_name: str) -> str | None:
    """The media type a file name's extension stands for, or ``None`` when unsupported."""
    return EXTENSION_TYPES.get(PurePath(source_name).suffix.lower())
