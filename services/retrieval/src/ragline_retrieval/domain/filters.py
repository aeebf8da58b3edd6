"""Translation of a query's metadata filters into vector-store conditions.

Filters come from the client, so they are bounded and their keys restricted: a key names a field
of the chunk's ``metadata`` and nothing else (the adapter scopes it under ``metadata``), and the
number of conditions is capped so one query cannot make the store evaluate an unbounded filter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from ragline_common.contracts.search import FilterValue, RangeFilter
from ragline_common.errors import ValidationFailed
from ragline_common.ports.vector_store import (
    MatchAny,
    MatchDatetimeRange,
    MatchRange,
    MatchValue,
    MetadataCondition,
)

MAX_FILTERS = 32
MAX_ANY_VALUES = 256
_KEY_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")


def _invalid(detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code="invalid_filter")


def _condition(key: str, value: FilterValue | list[str | int] | RangeFilter) -> MetadataCondition:
    if isinstance(value, RangeFilter):
        return _range(key, value)
    if isinstance(value, list):
        if not value:
            raise _invalid(f"Filter {key!r}: an empty list would match nothing.")
        if len(value) > MAX_ANY_VALUES:
            raise _invalid(f"Filter {key!r}: at most {MAX_ANY_VALUES} values are allowed.")
        if len({isinstance(item, str) for item in value}) > 1:
            # The stores match any-of over keywords or over integers, never a mix.
            raise _invalid(f"Filter {key!r}: list either text or integers, not both.")
        return MatchAny(key=key, values=tuple(value))
    if isinstance(value, float):
        # Keyword matching has no float equality; a closed range is the same predicate.
        return MatchRange(key=key, gte=value, lte=value)
    return MatchValue(key=key, value=value)


def _range(key: str, value: RangeFilter) -> MatchRange | MatchDatetimeRange:
    bounds = {"gt": value.gt, "gte": value.gte, "lt": value.lt, "lte": value.lte}
    given = [bound for bound in bounds.values() if bound is not None]
    if not given:
        raise _invalid(f"Filter {key!r}: a range needs at least one of gt, gte, lt, lte.")
    if all(isinstance(bound, datetime) for bound in given):
        return MatchDatetimeRange(
            key=key, **{name: _aware(b) for name, b in bounds.items() if isinstance(b, datetime)}
        )
    if any(isinstance(bound, datetime) for bound in given):
        raise _invalid(f"Filter {key!r}: a range compares numbers or dates, not both.")
    numbers = {name: b for name, b in bounds.items() if isinstance(b, int | float)}
    return MatchRange(key=key, **numbers)


def _aware(moment: datetime) -> datetime:
    """Dates without a zone are read as UTC, the zone Ragline stores and logs times in."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def to_conditions(
    filters: Mapping[str, FilterValue | list[str | int] | RangeFilter],
) -> list[MetadataCondition]:
    """One condition per filter; all must hold (the store ANDs them with the tenant filter)."""
    if len(filters) > MAX_FILTERS:
        raise _invalid(f"At most {MAX_FILTERS} filters are allowed.")
    conditions: list[MetadataCondition] = []
    for key, value in filters.items():
        if not _KEY_PATTERN.fullmatch(key):
            raise _invalid(
                f"Filter key {key!r} is not valid: use letters, digits, '_', '-' and '.' "
                "(at most 128 characters)."
            )
        conditions.append(_condition(key, value))
    return conditions
