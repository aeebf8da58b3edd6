"""Numbers in markup attributes (column spans, outline levels), read without trusting them."""

from __future__ import annotations

_MAX_DIGITS = 6


def attribute_int(value: str | None) -> int | None:
    """``value`` as a number if it is one to six ASCII digits, else ``None``.

    ``str.isdigit`` alone lets through "²" and "٣", which ``int`` refuses, and ``int`` refuses
    more than 4,300 digits: either one failed the whole document over one odd attribute.
    """
    if value is None or not (0 < len(value) <= _MAX_DIGITS and value.isascii()):
        return None
    return int(value) if value.isdigit() else None
