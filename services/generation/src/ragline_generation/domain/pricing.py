"""Estimated cost of an answer from a configurable price table (USD per million tokens)."""

from __future__ import annotations

from collections.abc import Mapping

from ragline_generation.settings import ModelPrice

_MICRO = 1_000_000


def cost_micro_usd(
    prices: Mapping[str, ModelPrice], model: str, prompt_tokens: int, completion_tokens: int
) -> int:
    """Micro-dollars, rounded up: a model missing from the table costs 0 (local models)."""
    price = prices.get(model)
    if price is None:
        return 0
    # Price per million tokens times tokens is exactly micro-dollars.
    micro = price.prompt * prompt_tokens + price.completion * completion_tokens
    return int(-(-micro // 1))


def usd(micro: int) -> float:
    return micro / _MICRO
