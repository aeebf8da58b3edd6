"""Client filters -> vector-store conditions."""

from __future__ import annotations

import pytest

from ragline_common.contracts.search import RangeFilter, SearchQuery
from ragline_common.errors import ValidationFailed
from ragline_common.ports.vector_store import MatchAny, MatchRange, MatchValue
from ragline_retrieval.domain.filters import MAX_ANY_VALUES, MAX_FILTERS, to_conditions


def test_each_filter_shape_becomes_its_condition() -> None:
    # Parsed from JSON as a client sends it, so the contract's union resolves as in production.
    query = SearchQuery.model_validate_json(
        """{"query": "q", "filters": {
            "lang": "en", "year": 2024, "draft": false, "ratio": 0.5,
            "tags": ["hr", "legal"], "ids": [1, 2], "pages": {"gte": 3, "lt": 10}
        }}"""
    )

    conditions = to_conditions(query.filters)

    assert conditions == [
        MatchValue(key="lang", value="en"),
        MatchValue(key="year", value=2024),
        MatchValue(key="draft", value=False),
        MatchRange(key="ratio", gte=0.5, lte=0.5),
        MatchAny(key="tags", values=("hr", "legal")),
        MatchAny(key="ids", values=(1, 2)),
        MatchRange(key="pages", gte=3, lt=10),
    ]
    assert type(conditions[2].value) is bool  # type: ignore[union-attr]


def test_no_filters_means_no_conditions() -> None:
    assert to_conditions({}) == []


@pytest.mark.parametrize(
    ("filters", "fragment"),
    [
        ({"tags": []}, "empty list"),
        ({"pages": RangeFilter()}, "at least one of"),
        ({"a b": "x"}, "not valid"),
        ({'say"': "x"}, "not valid"),
        ({"": "x"}, "not valid"),
        ({"k" * 129: "x"}, "not valid"),
        ({"tags": list(range(MAX_ANY_VALUES + 1))}, f"at most {MAX_ANY_VALUES}"),
        ({f"k{i}": i for i in range(MAX_FILTERS + 1)}, f"At most {MAX_FILTERS}"),
    ],
)
def test_unusable_filters_are_client_errors(
    filters: dict[str, str | int | list[int] | RangeFilter], fragment: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        to_conditions(filters)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_filter"
    assert fragment in caught.value.detail


def test_dotted_and_dashed_keys_are_allowed() -> None:
    assert to_conditions({"source.system": "crm", "cost-center": 7}) == [
        MatchValue(key="source.system", value="crm"),
        MatchValue(key="cost-center", value=7),
    ]


def test_date_ranges_become_utc_datetime_conditions() -> None:
    from datetime import UTC, datetime

    from ragline_common.contracts.search import RangeFilter
    from ragline_common.ports.vector_store import MatchDatetimeRange
    from ragline_retrieval.domain.filters import to_conditions

    (condition,) = to_conditions(
        {"published": RangeFilter.model_validate({"gte": "2024-01-01", "lt": "2024-06-01T12:00Z"})}
    )

    assert condition == MatchDatetimeRange(
        key="published",
        gte=datetime(2024, 1, 1, tzinfo=UTC),
        lt=datetime(2024, 6, 1, 12, tzinfo=UTC),
    )


def test_a_range_mixing_numbers_and_dates_is_refused() -> None:
    import pytest

    from ragline_common.contracts.search import RangeFilter
    from ragline_common.errors import ValidationFailed
    from ragline_retrieval.domain.filters import to_conditions

    with pytest.raises(ValidationFailed) as caught:
        to_conditions({"x": RangeFilter.model_validate({"gte": 3, "lt": "2024-01-01"})})
    assert caught.value.code == "invalid_filter"
