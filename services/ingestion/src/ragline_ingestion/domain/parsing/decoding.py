"""Bytes of a "text" upload to ``str``, whatever encoding it came in.

Order: a byte order mark wins (it is explicit); then UTF-16 without a mark, recognised by its
NUL bytes (Latin-script UTF-16 is half NULs, which are also valid UTF-8, so this must come
before UTF-8); then an encoding the document declares itself (HTML ``<meta charset>``) if the
bytes agree with it; then strict UTF-8 (the common case, and a detector can mistake short
UTF-8 for a legacy code page); then charset-normalizer's detection. Content that no encoding
explains, or that decodes to mostly control characters, is binary uploaded under a text type:
that is a permanent failure with a reason the uploader can act on.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from ragline_common.errors import PermanentProcessingError

# UTF-32 before UTF-16: the UTF-32 LE mark starts with the UTF-16 LE mark.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_SHARE = 0.01
_NEWLINES = re.compile(r"\r\n?")
# UTF-16 sniffing: in Latin-script UTF-16 one byte of almost every pair is NUL, on the same side.
_UTF16_SAMPLE_BYTES = 4096
_UTF16_MIN_NUL_SHARE = 0.3
_UTF16_MAX_OTHER_NUL_SHARE = 0.02
# WHATWG: documents labelled Latin-1 or ASCII are decoded as Windows-1252, as browsers do.
_WINDOWS_1252_ALIASES = frozenset({"ascii", "iso8859_1"})

_BINARY_REASON = "the file is not text (it looks binary); upload it with its real content type"


def decode_text(content: bytes, *, declared: str | None = None) -> str:
    """Decoded text with ``\\n`` newlines and stray control characters removed.

    ``declared`` is the encoding the document names for itself; it is trusted only if the
    bytes decode under it, since mislabelled pages are common.
    """
    text = _decode(content, declared)
    controls = len(_CONTROL.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_SHARE:
        raise PermanentProcessingError(_BINARY_REASON, code="binary_content")
    if controls:
        text = _CONTROL.sub("", text)
    return _NEWLINES.sub("\n", text)


def _decode(content: bytes, declared: str | None) -> str:
    for bom, codec in _BOMS:
        if content.startswith(bom):
            try:
                return content.decode(codec)
            except UnicodeDecodeError:
                raise PermanentProcessingError(
                    f"the file starts with a {codec.upper()} byte order mark but is not "
                    f"valid {codec.upper()}",
                    code="undecodable_text",
                ) from None
    for codec in filter(None, (_utf16_without_bom(content), _known_codec(declared), "utf-8")):
        try:
            return content.decode(codec)
        except (UnicodeError, LookupError):
            # A declared name can be a codec that is no text encoding at all ("rot13",
            # "base64": LookupError) or one that fails on any bytes ("undefined").
            continue
    matches = charset_normalizer.from_bytes(content)
    best = matches.best()
    if best is None:
        raise PermanentProcessingError(_BINARY_REASON, code="binary_content")
    # On short texts the detector cannot tell Western from Central-European code pages (it
    # picked cp1250 for French and Spanish, turning "ñ" into "ň"). Windows-1252 is by far the
    # most common legacy encoding (WHATWG even maps "latin-1" to it), so it wins ties.
    western = next((m for m in matches if m.encoding == "cp1252" and m.chaos <= best.chaos), None)
    return str(western or best)


def _utf16_without_bom(content: bytes) -> str | None:
    sample = content[: _UTF16_SAMPLE_BYTES - _UTF16_SAMPLE_BYTES % 2]
    pairs = len(sample) // 2
    if pairs < 2 or len(content) % 2:
        return None
    even_nuls = sample[0::2].count(0) / pairs
    odd_nuls = sample[1::2].count(0) / pairs
    if odd_nuls >= _UTF16_MIN_NUL_SHARE and even_nuls <= _UTF16_MAX_OTHER_NUL_SHARE:
        return "utf-16-le"
    if even_nuls >= _UTF16_MIN_NUL_SHARE and odd_nuls <= _UTF16_MAX_OTHER_NUL_SHARE:
        return "utf-16-be"
    return None


def _known_codec(label: str | None) -> str | None:
    """Python's name for a declared encoding label, or ``None`` if Python does not know it.

    UTF-16 labels are ignored: a declaration readable as ASCII cannot be in UTF-16 (WHATWG
    reads such pages as UTF-8 too).
    """
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name.startswith("utf-16") or name.startswith("utf-32"):
        return None
    return "cp1252" if name.replace("-", "_") in _WINDOWS_1252_ALIASES else name


def check_line_lengths(text: str, max_line_chars: int) -> None:
    """Refuse text with a line longer than ``max_line_chars`` (see ``ParseLimits``)."""
    start = 0
    number = 1
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        if end - start > max_line_chars:
            raise PermanentProcessingError(
                f"line {number} is {end - start} characters long; text lines over "
                f"{max_line_chars} characters are not supported (minified or generated data?)",
                code="line_too_long",
            )
        start = end + 1
        number += 1
