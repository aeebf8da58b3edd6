"""Request planning and provider wait headers for the remote embedder, without a server."""

from __future__ import annotations

import email.utils
import time

import pytest

from ragline_common.adapters.embedder.remote_failures import (
    is_retryable,
    rejection,
    retry_after_s,
)
from ragline_common.adapters.embedder.request_planning import (
    RequestLimits,
    plan_requests,
    truncate,
)


def _words(text: str) -> int:
    return len(text.split())


def _word_ends(text: str) -> list[int]:
    ends, position = [], 0
    for word in text.split(" "):
        position += len(word)
        ends.append(position)
        position += 1
    return ends


def test_requests_hold_at_most_max_inputs_and_cover_every_text_in_order() -> None:
    texts = [f"t{i}" for i in range(7)]
    plan = list(plan_requests(texts, RequestLimits(max_inputs=3), _words))
    assert plan == [range(0, 3), range(3, 6), range(6, 7)]


def test_a_request_closes_before_its_token_budget_would_overflow() -> None:
    texts = ["a b c", "d e", "f g h i", "j"]  # 3, 2, 4, 1 tokens
    plan = list(plan_requests(texts, RequestLimits(max_inputs=10, max_request_tokens=5), _words))
    assert plan == [range(0, 2), range(2, 4)]


def test_a_text_over_the_budget_on_its_own_still_gets_its_request() -> None:
    texts = ["a", "b c d e f g", "h"]
    plan = list(plan_requests(texts, RequestLimits(max_inputs=10, max_request_tokens=3), _words))
    assert plan == [range(0, 1), range(1, 2), range(2, 3)]


def test_no_texts_no_requests() -> None:
    assert list(plan_requests([], RequestLimits(max_inputs=3), _words)) == []


@pytest.mark.parametrize("limits", [{"max_inputs": 0}, {"max_inputs": 1, "max_input_tokens": 0}])
def test_limits_below_one_are_refused(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RequestLimits(**limits)


def test_truncate_cuts_after_the_last_allowed_token_and_leaves_short_texts_alone() -> None:
    assert truncate("one two three four", max_tokens=2, token_ends=_word_ends) == "one two"
    assert truncate("one two", max_tokens=2, token_ends=_word_ends) == "one two"


def test_retry_after_ms_wins_then_seconds_then_an_http_date() -> None:
    assert retry_after_s({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_s({"retry-after": "2"}) == 2.0
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 < (retry_after_s({"retry-after": in_ten}) or 0) <= 10.0
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({}) is None
    assert retry_after_s({"retry-after": "-3"}) == 0.0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(429, True), (503, True), (408, True), (400, False), (401, False), (404, False)],
)
def test_which_statuses_are_worth_retrying(status: int, retryable: bool) -> None:
    assert is_retryable(status) is retryable


def test_a_rejection_repeats_a_providers_code_only_if_it_looks_like_one() -> None:
    clean = rejection(401, model="m", provider_code="invalid_api_key")
    assert clean.detail == "the embedding provider refused the API key (HTTP 401, invalid_api_key)"
    quoted = rejection(400, model="m", provider_code="Incorrect API key provided: sk-abc")
    assert "sk-abc" not in quoted.detail
    assert quoted.code == "embedding_rejected"
