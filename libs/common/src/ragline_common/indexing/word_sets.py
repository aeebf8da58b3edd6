"""Word sets of chunk texts, and the sketch of one that indexing stores beside each chunk.

The gateway drops near-identical hits from a result list by comparing the sets of lowercased
``\\w+`` words of their texts (``ragline_gateway.domain.near_duplicates``). Building those sets
was the largest single piece of the gateway's own work per search (0.2-0.35 ms for twelve
SciFact abstracts on two cores, ADR 0015), yet a chunk's text never changes once indexed. So
ingestion stores a sketch of the set with the chunk (``ChunkPayload.word_sketch``): how many
words it has and a 512-bit map of their hashes. Two sketches rule out almost every pair that is
not a copy, exactly (:func:`may_be_near_identical`), so the sets themselves are built only for
the rare pair that might be one. A sketch is a hint, never the verdict: the sets decide.

Changing :func:`words` changes what the stored sketches mean: bump :data:`SKETCH_VERSION` with
it, and sketches of the old version are ignored (the sets are built from the text, as for chunks
indexed before sketches existed).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

SKETCH_VERSION = "w1"
SKETCH_BITS = 512
"""Bits of the hash map: twelve hits of ~120 words each are ruled out pairwise by a margin of
~10x (different passages differ in ~100 bits, copies at most ~5% of their words) in 128 hex
characters of payload."""

_WORD = re.compile(r"\w+")
_ASCII_SEPARATORS_AS_SPACE = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() or byte == ord("_") else ord(" ")
    for byte in range(256)
)
"""Every ASCII byte that ``\\w`` does not match becomes a space; letters, digits, ``_`` and
the bytes of non-ASCII characters (never ASCII in UTF-8) stay."""


def words(text: str) -> set[bytes]:
    """The set of ``\\w+`` words of ``text`` lowercased, each as its UTF-8 bytes (surrogates
    passed through).

    Splitting at ASCII separators with ``bytes.translate`` is three times faster than
    ``findall`` on ASCII text. Only tokens holding a non-ASCII character go through the
    expression (joined by spaces): a separator ends a ``\\w+`` match anyway, so the words are
    the same. The whole text is lowercased first (``str.lower`` looks at neighbours, e.g. for a
    final sigma). The words stay bytes, since equal words have equal encodings: decoding them
    back to ``str`` cost another third.
    """
    # surrogatepass: a lone surrogate (valid in a JSON string) is not a word character either.
    lowered = text.lower().encode(errors="surrogatepass")
    found = set(lowered.translate(_ASCII_SEPARATORS_AS_SPACE).split())
    if not lowered.isascii():
        odd = [token for token in found if not token.isascii()]
        found.difference_update(odd)
        joined = b" ".join(odd).decode(errors="surrogatepass")
        found.update(word.encode(errors="surrogatepass") for word in _WORD.findall(joined))
    return found


@dataclass(frozen=True, slots=True)
class WordSketch:
    """A word set's size and the set bits ``crc32(word) % SKETCH_BITS`` of its words."""

    count: int
    bits: int


def sketch_of(found: set[bytes]) -> WordSketch:
    bits = 0
    for word in found:
        bits |= 1 << (zlib.crc32(word) % SKETCH_BITS)
    return WordSketch(len(found), bits)


def word_sketch(text: str) -> str:
    """The stored form of ``text``'s sketch: ``w1:<count>:<bits in hex>``."""
    sketch = sketch_of(words(text))
    return f"{SKETCH_VERSION}:{sketch.count}:{sketch.bits:x}"


def parse_word_sketch(stored: str | None) -> WordSketch | None:
    """The sketch a payload holds; None when it holds none, or one of another version."""
    if stored is None:
        return None
    version, _, rest = stored.partition(":")
    count, _, bits = rest.partition(":")
    if version != SKETCH_VERSION or not count.isdigit() or not bits:
        return None
    try:
        return WordSketch(int(count), int(bits, 16))
    except ValueError:
        return None


def may_be_near_identical(a: WordSketch, b: WordSketch, min_jaccard: float) -> bool:
    """False only if the two sets' Jaccard similarity is certainly below ``min_jaccard``.

    With ``s = |A| + |B|`` and ``d = |A xor B|`` (the symmetric difference), ``|A n B| =
    (s - d) / 2`` and ``|A u B| = (s + d) / 2``, so the similarity is at least ``J`` exactly when
    ``d <= s (1 - J) / (1 + J)``. Each bit set in one map only is set by a word in one set
    only, and different bits come from different words, so the differing bits never exceed
    ``d``: more of them than that bound proves the pair is no copy.
    """
    differing = (a.bits ^ b.bits).bit_count()
    # The margin keeps a pair at exactly the bound for the sets to decide, whatever the rounding.
    return differing * (1 + min_jaccard) <= (a.count + b.count) * (1 - min_jaccard) + 1e-9
