"""Cutting a list of texts into embedding requests a remote provider will accept.

Providers limit a request three ways: how many inputs it may carry (OpenAI: 2,048), how many
tokens one input may hold (OpenAI: 8,192; a local TEI or vLLM: the model's maximum sequence
length) and how many tokens all inputs may hold together (OpenAI: 300,000). Exceeding any of
them is a 400 for the whole request, which would fail a whole document, so the limits are kept
on this side of the wire.

Token counts here are the local tokenizer's (the ``openai_compatible`` module explains why no
provider tokenizer is available offline): an estimate of the provider's count, close for
English text but not exact, which is why limits should be configured with a margin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class RequestLimits:
    """What one request to the provider may carry; ``None`` means the provider sets no limit."""

    max_inputs: int
    """Inputs per request: the smaller of the configured batch size and the provider's cap."""
    max_input_tokens: int | None = None
    """Tokens one input may hold; longer inputs are cut to this many (see :func:`truncate`)."""
    max_request_tokens: int | None = None
    """Tokens all inputs of one request may hold together."""

    def __post_init__(self) -> None:
        if self.max_inputs < 1:
            raise ValueError("max_inputs must be at least 1")
        for name in ("max_input_tokens", "max_request_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")


def truncate(text: str, *, max_tokens: int, token_ends: Callable[[str], list[int]]) -> str:
    """``text`` cut after its ``max_tokens``-th token (``token_ends``: each token's end offset).

    A local model truncates what exceeds its sequence length without a word; a remote one
    refuses the request instead. Cutting here keeps the two backends alike: an over-long chunk
    is embedded from its beginning rather than failing its document.
    """
    ends = token_ends(text)
    if len(ends) <= max_tokens:
        return text
    return text[: ends[max_tokens - 1]]


def plan_requests(
    texts: Sequence[str], limits: RequestLimits, count_tokens: CountTokens
) -> Iterator[range]:
    """Consecutive index ranges of ``texts``, each one request within ``limits``, in order.

    Every range holds at least one text, even one whose tokens alone exceed the request
    budget: it cannot be split further, and the provider's answer is then the honest one.
    """
    start = 0
    while start < len(texts):
        end = min(len(texts), start + limits.max_inputs)
        if limits.max_request_tokens is not None:
            budget = limits.max_request_tokens
            used = 0
            for index in range(start, end):
                used += count_tokens(texts[index])
                if used > budget and index > start:
                    end = index
                    break
        yield range(start, end)
        start = end
