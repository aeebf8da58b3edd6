"""Property-based fuzzing of the queue-drop decoder (``domain/intake_message.py``).

Any message body either decodes into an upload or is refused with the errors the intake handler
turns into a dead letter (``ValidationError``, ``PermanentProcessingError``); anything else would
leave the message to be redelivered for ever. Whatever decodes must build an ingest message, and
the published JSON Schema must agree with the model on every generated message.

Bodies that once broke this are kept in ``fuzz_corpus/intake/*.json`` and replayed.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from ragline_common.contracts import metadata as rules
from ragline_common.errors import PermanentProcessingError
from ragline_common.messages import DocumentIngestRequested
from ragline_gateway.domain.intake_message import SCHEMA_V1, IntakeDocumentV1, upload_of

DOCS = Path(__file__).resolve().parents[4] / "docs"
SCHEMA: dict[str, Any] = json.loads((DOCS / "queue-contract.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)
CORPUS = sorted((Path(__file__).parent / "fuzz_corpus" / "intake").glob("*.json"))
MAX_UPLOAD_BYTES = 2048
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_awkward = st.sampled_from(["\x00", "é", " ", "\n", "a", "\u2028", "rl_"])
_text = st.one_of(
    st.text(max_size=12),
    st.lists(_awkward, max_size=6).map("".join),
    st.integers(495, 505).map(lambda n: "t" * n),
)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=20,
)
_files = st.sampled_from([b"# T\n\nBody.\n", b"%PDF-1.4", b"PK\x03\x04", b"  \n", b"x" * 3000, b""])
_optional: dict[str, Any] = {
    "text": _text,
    "content_base64": _files.map(lambda b: base64.b64encode(b).decode()) | _text,
    "filename": st.sampled_from(["a.txt", "a.md", "a.pdf", "a.docx", "a.exe", "", "../x.txt"]),
    "content_type": st.sampled_from(["text/plain", "text/markdown", "text/html"]),
    "metadata": st.dictionaries(_text, _json, max_size=6) | _json,
    "external_id": _text,
    "extra": _json,
}
_anything = st.fixed_dictionaries(
    {
        "schema": st.sampled_from([SCHEMA_V1, SCHEMA_V1, "ragline.intake.document.v2"]),
        "title": _text,
    },
    optional=_optional,
)
_shared = {key: _optional[key] for key in ("metadata", "external_id")}
_text_form = st.fixed_dictionaries(
    {"schema": st.just(SCHEMA_V1), "title": _text, "text": _text},
    optional={**_shared, "content_type": _optional["content_type"]},
)
_file_form = st.fixed_dictionaries(
    {
        "schema": st.just(SCHEMA_V1),
        "title": _text,
        "content_base64": _optional["content_base64"],
        "filename": _optional["filename"],
    },
    optional=_shared,
)
_messages = st.one_of(_text_form, _file_form, _anything)
"""Near-valid forms first: fully random messages are nearly always refused by the first rule."""


def _decode(body: bytes) -> tuple[IntakeDocumentV1 | None, str]:
    """What the handler does with a body: its upload (built into an ingest message) or refusal."""
    try:
        message = IntakeDocumentV1.model_validate_json(body)
    except ValidationError:
        return None, "invalid"
    try:
        draft, content = upload_of(message, max_upload_bytes=MAX_UPLOAD_BYTES)
    except PermanentProcessingError:
        return message, "refused"
    DocumentIngestRequested(
        tenant_id="ten_fuzz",
        document_id="doc_fuzz",
        job_id="job_fuzz",
        version=1,
        title=draft.title,
        source_name=draft.source_name,
        content_type=draft.content_type,
        content=content,
        content_hash=draft.content_hash,
        metadata=draft.metadata,
    )
    return message, "accepted"


@pytest.mark.timeout(120)
@FUZZ
@given(_messages)
def test_messages_decode_or_are_refused_and_the_schema_agrees(message: dict[str, Any]) -> None:
    decoded, _ = _decode(json.dumps(message).encode())
    metadata_fits = rules.serialised_size(message.get("metadata", {})) <= rules.MAX_BYTES
    # The schema cannot count bytes: past the size limit only the model refuses.
    assert (decoded is not None) == (VALIDATOR.is_valid(message) and metadata_fits), message


@pytest.mark.timeout(120)
@FUZZ
@given(st.binary(max_size=300) | _json.map(lambda v: json.dumps(v).encode()))
def test_any_body_decodes_or_is_refused(body: bytes) -> None:
    _decode(body)


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_corpus_bodies_that_once_failed(path: Path) -> None:
    entry = json.loads(path.read_text())
    _, outcome = _decode(entry["body"].encode())
    assert outcome == entry["outcome"], entry["why"]


def test_the_published_schema_states_the_metadata_rules_of_the_code() -> None:
    """The schema file embeds what the rules module generates: a changed limit must show here."""
    prop, defs = rules.metadata_json_schema()
    assert SCHEMA["properties"]["metadata"] == prop
    assert {name: SCHEMA["$defs"][name] for name in defs} == defs
