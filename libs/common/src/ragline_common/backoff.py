"""Jittered exponential backoff, written once for every retry loop in the suite."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, *, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """Delay before retry number ``attempt`` (0-based): full jitter over an exponential ceiling.

    Full jitter spreads retries of many clients that failed together, so they do not hammer a
    recovering dependency in lockstep.
    """
    ceiling = min(cap_s, base_s * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
