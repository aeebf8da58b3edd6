"""Which documents the gateway accepts, and under what name: one rule for every door.

A REST upload and a queue-drop message must be refused or accepted alike, so both read the
supported types here. A new format means one entry in :data:`EXTENSION_TYPES` (and a parser in
the ingestion service for its media type).
"""

from __future__ import annotations

import re
from pathlib import PurePath

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

_CODE_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "text/x-python": (".py", ".pyi"),
    "text/javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "application/typescript": (".ts", ".tsx", ".mts", ".cts"),
    "text/x-go": (".go",),
    "text/x-java": (".java",),
    "text/x-kotlin": (".kt", ".kts"),
    "text/x-scala": (".scala",),
    "text/x-swift": (".swift",),
    "text/x-csharp": (".cs",),
    "text/x-c": (".c", ".h"),
    "text/x-c++": (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx"),
    "text/x-rust": (".rs",),
    "text/x-ruby": (".rb",),
    "text/x-php": (".php",),
    "text/x-sh": (".sh", ".bash"),
}

EXTENSION_TYPES: dict[str, str] = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".pdf": "application/pdf",
    ".docx": DOCX,
    **{ext: media for media, extensions in _CODE_EXTENSIONS.items() for ext in extensions},
}
"""File extension (lower case) -> media type, for documents sent as files. Each media type has
a parser in the ingestion service (``ragline_ingestion.domain.parsing``)."""

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"%PDF", "a PDF"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office file"),
)


def content_mismatch(content_type: str, content: bytes) -> str | None:
    """Why ``content`` cannot be a ``content_type`` document, judged by its first bytes, or None.

    A cheap check at the door turns the commonest mislabelling into an immediate 415 instead
    of a job that fails later; the parsers still decide everything the bytes do not show.
    """
    if content_type == "application/pdf":
        return None if b"%PDF-" in content[:1024] else "the file is not a PDF (no %PDF- header)"
    if content_type == DOCX:
        if content.startswith(b"\xd0\xcf\x11\xe0"):
            return (
                "the file is a legacy .doc or a password-protected document; "
                "save it as an unprotected .docx"
            )
        return None if content.startswith(b"PK\x03\x04") else "the file is not a .docx (ZIP) file"
    for signature, what in _BINARY_SIGNATURES:
        if content.startswith(signature):
            return f"the file looks like {what}, not text"
    return None


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
