"""Checking the ``[n]`` markers of a generated answer against the sources it was given.

Runs on a stream: text passes through as it arrives, except a possible marker still open at the
end of a piece (``"[1"``), which waits for the next piece. A marker naming only given sources is
kept (``[1, 3]`` normalised to ``[1][3]``); numbers of sources that do not exist are removed, so
an answer never points at something the response does not list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ragline_common.contracts.answer import Citation
from ragline_generation.domain.extractive import snippet
from ragline_generation.domain.prompt import SourceBlock
from ragline_generation.domain.sentences import Span

_MARKER = re.compile(r"\s?\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_OPEN_TAIL = re.compile(r"\s?\[[\d,;\s]{0,24}$")
"""A tail that may still become a marker once the next piece arrives."""


class CitationChecker:
    def __init__(self, valid: Iterable[int]) -> None:
        self._valid = frozenset(valid)
        self._pending = ""
        self.cited: list[int] = []
        """Valid source numbers in order of first citation."""
        self.dropped = 0
        """Numbers removed because no such source was given."""
        self._before = ""
        """The last character already passed on (context for the next piece)."""

    def feed(self, text: str) -> str:
        buffer = self._pending + text
        tail = _OPEN_TAIL.search(buffer)
        if tail is None:
            self._pending = ""
            return self._check(buffer)
        self._pending = buffer[tail.start() :]
        return self._check(buffer[: tail.start()])

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self._check(rest)

    def check_all(self, text: str) -> str:
        return self.feed(text) + self.flush()

    def _check(self, text: str) -> str:
        checked = _MARKER.sub(self._replace, text)
        if text:
            self._before = text[-1]
        return checked

    def _replace(self, match: re.Match[str]) -> str:
        start = match.start()
        before = match.string[start - 1] if start > 0 else self._before
        numbers = [int(part) for part in re.split(r"[,;]", match.group(1))]
        attached = not match.group(0)[0].isspace() and before.isalnum()
        if attached and not all(n in self._valid for n in numbers):
            return match.group(0)  # ``a[0]``: an index in code or a formula, not a citation
        kept = [n for n in numbers if n in self._valid]
        self.dropped += len(numbers) - len(kept)
        for number in kept:
            if number not in self.cited:
                self.cited.append(number)
        if not kept:
            return ""
        space = " " if match.group(0)[0].isspace() else ""
        return space + "".join(f"[{n}]" for n in kept)


def citation(block: SourceBlock, snippet_chars: int) -> Citation:
    """A source as listed in a response: the start of its chunk stands for the whole."""
    hit = block.hit
    return Citation.of(
        hit, index=block.index, snippet=snippet(hit.text, Span(0, 0, ""), snippet_chars)
    )


def cited_citations(
    blocks: Iterable[SourceBlock], cited: Iterable[int], snippet_chars: int
) -> list[Citation]:
    by_index = {block.index: block for block in blocks}
    return [citation(by_index[number], snippet_chars) for number in cited if number in by_index]
