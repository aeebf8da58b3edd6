"""Property-based fuzzing of search filters, from the client's JSON to the store's filter.

The filter schema is two steps: the contract (``SearchQuery.filters``) and the retrieval
translation (:func:`ragline_retrieval.domain.filters.to_conditions`). Any input must pass both or
be refused by one of them with its validation error (``ValidationError`` or ``ValidationFailed``
with code ``invalid_filter``); whatever passes both must build a filter for each vector store
(Qdrant Edge and the Qdrant server), where an exception would be a 500.

Inputs that once broke this are kept in ``fuzz_corpus/filters/*.json`` and replayed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ragline_common.adapters.vector_store import edge_filters, qdrant_filters
from ragline_common.contracts.search import SearchQuery
from ragline_common.errors import ValidationFailed
from ragline_common.tenancy import TenantId
from ragline_retrieval.domain.filters import to_conditions

CORPUS = sorted((Path(__file__).parent / "fuzz_corpus" / "filters").glob("*.json"))
TENANT = TenantId("ten_fuzz")

_keys = st.one_of(
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,12}", fullmatch=True),
    st.sampled_from(["", '"', "k" * 129, "é", "a b"]),
)
_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
_dates = st.sampled_from(["2024-05-01", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00+02:00"])
_bounds = st.dictionaries(
    st.sampled_from(["gt", "gte", "lt", "lte", "eq"]), _numbers | _dates | st.none(), max_size=4
)
_filter_values = st.one_of(
    st.text(max_size=10),
    _numbers,
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5) | st.integers(-(2**70), 2**70) | st.booleans(), max_size=6),
    _bounds,
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_filters = st.dictionaries(_keys, _filter_values, max_size=4) | st.dictionaries(
    _keys, _filter_values, min_size=30, max_size=36
)


def _check(filters: Any) -> None:
    """The property itself: refused by a validation error, or buildable for both stores."""
    body = json.dumps({"query": "q", "filters": filters})
    try:
        query = SearchQuery.model_validate_json(body)
    except ValidationError:
        return
    try:
        conditions = to_conditions(query.filters)
    except ValidationFailed as exc:
        refused_by = exc.code
        assert refused_by == "invalid_filter"
        return
    edge_filters.tenant_scope(TENANT, conditions=conditions)
    qdrant_filters.tenant_scope(TENANT, conditions=conditions)


@pytest.mark.timeout(120)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_filters)
def test_filters_are_refused_or_build_a_store_filter(filters: dict[str, Any]) -> None:
    _check(filters)


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_corpus_filters_that_once_failed(path: Path) -> None:
    entry = json.loads(path.read_text())
    _check(entry["filters"])
