"""Property-based fuzzing of the metadata rules (``ragline_common.contracts.metadata``).

Whatever a client sends as metadata, as Python values or as JSON text, validation either accepts
it or raises ``ValidationError``: never another exception, within a time budget. Whatever it
accepts must fit the limits and travel in an ingest message and back unchanged.

Inputs that once broke these properties are kept in ``fuzz_corpus/metadata/*.json`` and replayed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ragline_common.contracts import metadata as rules
from ragline_common.messages import DocumentIngestRequested, encode_message, parse_message

CORPUS = sorted((Path(__file__).parent / "fuzz_corpus" / "metadata").glob("*.json"))
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_awkward_chars = st.sampled_from(["\x00", "\ud800", "é", '"', "\\", ".", " ", "\u2028"])
_text = st.one_of(
    st.text(max_size=8),
    st.lists(_awkward_chars | st.characters(), max_size=6).map("".join),
    st.integers(90, 110).map(lambda n: "k" * n),
    st.integers(0, 20_000).map(lambda n: "x" * n),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
)
_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=25,
)


def _deep(depth: int, container: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if container == "list" else {"k": value}
    return value


_candidates = st.one_of(
    st.dictionaries(_text, _values, max_size=70),
    _values,
    st.builds(_deep, st.integers(1, 400), st.sampled_from(["list", "dict"])),
)


def _assert_carried(metadata: dict[str, Any]) -> None:
    """What validated fits the limits and crosses the broker unchanged."""
    assert len(metadata) <= rules.MAX_KEYS
    assert rules.serialised_size(metadata) <= rules.MAX_BYTES
    message = DocumentIngestRequested(
        tenant_id="ten_fuzz",
        document_id="doc_fuzz",
        job_id="job_fuzz",
        version=1,
        title="t",
        source_name="t.txt",
        content_type="text/plain",
        content=b"x",
        content_hash="h",
        metadata=metadata,
    )
    received = parse_message(encode_message(message))
    assert isinstance(received, DocumentIngestRequested)
    assert received.metadata == metadata


def _outcome_of_text(raw: str) -> dict[str, Any] | None:
    try:
        return rules.METADATA.validate_json(raw)
    except ValidationError:
        return None


@pytest.mark.timeout(120)
@FUZZ
@given(_candidates)
def test_python_values_validate_or_raise_validation_error(candidate: Any) -> None:
    try:
        metadata = rules.METADATA.validate_python(candidate)
    except ValidationError:
        return
    _assert_carried(metadata)


@pytest.mark.timeout(120)
@FUZZ
@given(_candidates)
def test_json_text_validates_or_raises_validation_error(candidate: Any) -> None:
    try:
        raw = json.dumps(candidate)  # NaN and Infinity come out as the literals clients send
    except (RecursionError, ValueError):
        return
    metadata = _outcome_of_text(raw)
    if metadata is not None:
        _assert_carried(metadata)


@pytest.mark.timeout(120)
@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_validates_or_raises_validation_error(raw: str) -> None:
    metadata = _outcome_of_text(raw)
    if metadata is not None:
        _assert_carried(metadata)


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_corpus_inputs_that_once_failed(path: Path) -> None:
    """Each entry: the JSON text a client sent and whether the rules accept it."""
    entry = json.loads(path.read_text())
    metadata = _outcome_of_text(entry["text"])
    assert (metadata is not None) == entry["valid"], entry["why"]
    if metadata is not None:
        _assert_carried(metadata)
