"""Citation checking, the circuit breaker, prices and token counting, in isolation."""

from __future__ import annotations

import pytest

from ragline_generation.domain.breaker import CircuitBreaker
from ragline_generation.domain.citations import CitationChecker
from ragline_generation.domain.pricing import cost_micro_usd
from ragline_generation.domain.tokens import TokenCounter
from ragline_generation.settings import ModelPrice


def streamed(checker: CitationChecker, pieces: list[str]) -> str:
    return "".join(checker.feed(piece) for piece in pieces) + checker.flush()


@pytest.mark.parametrize(
    ("pieces", "expected", "cited"),
    [
        (["Paid in 14 days [1]."], "Paid in 14 days [1].", [1]),
        (["Paid [", "2", "]", " and free [1]"], "Paid [2] and free [1]", [2, 1]),
        (["Paid [1, ", "3]."], "Paid [1][3].", [1, 3]),
        (["Paid [7]. Free [2]."], "Paid. Free [2].", [2]),
        (["Paid [4; 9]."], "Paid.", []),
        (["Arrays like a[0] stay"], "Arrays like a[0] stay", []),
        (["Attached free[2]", " x[9]"], "Attached free[2] x[9]", [2]),
        (["Ends with an open [", "12"], "Ends with an open [12", []),
    ],
)
def test_markers_are_checked_across_pieces(
    pieces: list[str], expected: str, cited: list[int]
) -> None:
    checker = CitationChecker([1, 2, 3])
    assert streamed(checker, pieces) == expected
    assert checker.cited == cited


def test_text_is_held_back_only_while_a_marker_may_be_open() -> None:
    checker = CitationChecker([1])
    assert checker.feed("Refunds take") == "Refunds take"
    assert checker.feed(" 14 days [") == " 14 days"
    assert checker.feed("1] fine") == " [1] fine"


def test_the_breaker_opens_after_consecutive_failures_and_half_opens_later() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, reset_s=10, clock=lambda: now[0])
    breaker.failed()
    breaker.failed()
    breaker.succeeded()  # a success resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state == "open" and not breaker.allow()

    now[0] = 10.0
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.failed()
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.allow()


def test_an_abandoned_trial_frees_the_slot() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_s=1, clock=lambda: now[0])
    breaker.failed()
    now[0] = 1.0
    assert breaker.allow()
    breaker.abandoned()
    assert breaker.allow()


def test_costs_are_micro_dollars_from_the_price_table() -> None:
    prices = {"m": ModelPrice(prompt=0.15, completion=0.6)}
    assert cost_micro_usd(prices, "m", 1000, 100) == 210
    assert cost_micro_usd(prices, "m", 1, 0) == 1  # rounded up: never free by rounding
    assert cost_micro_usd(prices, "local", 10**6, 10**6) == 0


def test_the_offline_tokenizer_counts_and_cuts_without_truncating_at_128() -> None:
    counter = TokenCounter()
    text = "Refunds are paid within fourteen days. " * 100
    assert counter.count(text) > 600
    assert counter.count_many(["a b", text]) == [2, counter.count(text)]
    cut = counter.cut(text, 50)
    assert text.startswith(cut) and counter.count(cut) == 50
    assert counter.cut("short", 50) == "short"
