"""Bytes of a "text" upload to ``str``, whatever encoding it came in.

Order: a byte order mark wins (it is explicit); then strict UTF-8 (the common case, and a
detector can mistake short UTF-8 for a legacy code page); then charset-normalizer's detection.
Content that no encoding explains, or that decodes to mostly control characters, is binary
uploaded under a text type: that is a permanent failure with a reason the uploader can act on.
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

_BINARY_REASON = "the file is not text (it looks binary); upload it with its real content type"


def decode_text(content: bytes) -> str:
    """Decoded text with ``\\n`` newlines and stray control characters removed."""
    text = _decode(content)
    controls = len(_CONTROL.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_SHARE:
        raise PermanentProcessingError(_BINARY_REASON, code="binary_content")
    if controls:
        text = _CONTROL.sub("", text)
    return _NEWLINES.sub("\n", text)


def _decode(content: bytes) -> str:
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
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(content)
    best = matches.best()
    if best is None:
        raise PermanentProcessingError(_BINARY_REASON, code="binary_content")
    # On short texts the detector cannot tell Western from Central-European code pages (it
    # picked cp1250 for French and Spanish, turning "ñ" into "ň"). Windows-1252 is by far the
    # most common legacy encoding (WHATWG even maps "latin-1" to it), so it wins ties.
    western = next((m for m in matches if m.encoding == "cp1252" and m.chaos <= best.chaos), None)
    return str(western or best)
