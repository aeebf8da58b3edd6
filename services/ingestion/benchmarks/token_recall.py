"""Extraction quality: how much of a groundtruth text a parser's output contains.

Token recall = the share of the groundtruth's word tokens found in the extracted text, counted
as a multiset: a word the groundtruth has five times must be extracted five times. A set would
let a parser drop a whole page of ordinary prose and still score 1.0, because its words occur
elsewhere; the multiset notices. Extra text (navigation, page headers) is not penalised: the
measure is about losing text, which is what makes a document unfindable.

Groundtruth files are Markdown; their markup (emphasis, link targets, table rules, HTML
comments such as ``<!-- image -->``) is stripped with the same Markdown parser uploads go
through. Tokens are runs of Unicode word characters, lowercased: punctuation and spacing
differences between extractors do not count, letters do.
"""

from __future__ import annotations

import re
from collections import Counter

from ragline_ingestion.domain.parsing.limits import ParseLimits
from ragline_ingestion.domain.parsing.markdown import MarkdownParser

_WORD = re.compile(r"\w+")


def word_tokens(text: str) -> Counter[str]:
    return Counter(token.lower() for token in _WORD.findall(text))


def token_recall(groundtruth_markdown: str, extracted: str) -> float:
    """Share of the groundtruth's tokens (with multiplicity) present in ``extracted``."""
    expected = word_tokens(
        MarkdownParser(max_line_chars=ParseLimits().max_line_chars)
        .parse(groundtruth_markdown.encode())
        .text
    )
    found = word_tokens(extracted)
    total = sum(expected.values())
    if not total:
        return 1.0
    return sum(min(count, found[token]) for token, count in expected.items()) / total
