"""The published JSON Schema and the gateway's model describe the same intake message."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from ragline_gateway.api import documents
from ragline_gateway.api.schemas import MAX_METADATA_KEYS, MAX_TITLE_CHARS
from ragline_gateway.domain import content_types
from ragline_gateway.domain.intake_message import SCHEMA_V1, IntakeDocumentV1

DOCS = Path(__file__).resolve().parents[4] / "docs"
SCHEMA: dict[str, Any] = json.loads((DOCS / "queue-contract.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)
B64 = base64.b64encode(b"# Title\n\nBody.\n").decode()

VALID: list[dict[str, Any]] = [
    {"schema": SCHEMA_V1, "title": "t", "text": "x"},
    {"schema": SCHEMA_V1, "title": "t", "text": "  x  ", "content_type": "text/markdown"},
    {"schema": SCHEMA_V1, "title": "t" * 500, "text": "x", "content_type": "text/plain"},
    {"schema": SCHEMA_V1, "title": "t", "content_base64": B64, "filename": "a.md"},
    {"schema": SCHEMA_V1, "title": "t", "content_base64": "QUI=", "filename": "a.txt"},
    {"schema": SCHEMA_V1, "title": "t", "content_base64": "QQ==", "filename": "a.pdf"},
    {
        "schema": SCHEMA_V1,
        "title": "t",
        "text": "x",
        "metadata": {"k" * 100: {"nested": [1, 2.5, None, True]}, "n": 1},
        "external_id": "e" * 200,
    },
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "metadata": {str(i): i for i in range(64)}},
]

INVALID: list[Any] = [
    [],
    "text",
    {"title": "t", "text": "x"},
    {"schema": "ragline.intake.document.v2", "title": "t", "text": "x"},
    {"schema": SCHEMA_V1, "text": "x"},
    {"schema": SCHEMA_V1, "title": "", "text": "x"},
    {"schema": SCHEMA_V1, "title": "t" * 501, "text": "x"},
    {"schema": SCHEMA_V1, "title": 5, "text": "x"},
    {"schema": SCHEMA_V1, "title": "t"},
    {"schema": SCHEMA_V1, "title": "t", "text": ""},
    {"schema": SCHEMA_V1, "title": "t", "text": " \n\t"},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "content_base64": "QUI=", "filename": "a"},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "filename": "a.txt"},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "content_type": "text/html"},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "content_type": None},
    {"schema": SCHEMA_V1, "title": "t", "content_base64": "QUI="},
    {"schema": SCHEMA_V1, "title": "t", "content_base64": "QUI", "filename": "a.txt"},
    {"schema": SCHEMA_V1, "title": "t", "content_base64": "QU I=", "filename": "a.txt"},
    {"schema": SCHEMA_V1, "title": "t", "content_base64": "", "filename": "a.txt"},
    {"schema": SCHEMA_V1, "title": "t", "content_base64": "QUI=", "filename": ""},
    {
        "schema": SCHEMA_V1,
        "title": "t",
        "content_base64": "QUI=",
        "filename": "a.txt",
        "content_type": "text/plain",
    },
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "metadata": []},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "metadata": {"": 1}},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "metadata": {"k" * 101: 1}},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "metadata": {str(i): i for i in range(65)}},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "external_id": ""},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "external_id": "e" * 201},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "idempotency_key": "k"},
    {"schema": SCHEMA_V1, "title": "t", "text": "x", "api_key": "rl_x"},
]


def model_accepts(message: Any) -> bool:
    try:
        IntakeDocumentV1.model_validate_json(json.dumps(message))
    except ValidationError:
        return False
    return True


def test_the_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema"]["const"] == SCHEMA_V1


@pytest.mark.parametrize("message", VALID, ids=range(len(VALID)))
def test_both_accept(message: dict[str, Any]) -> None:
    assert VALIDATOR.is_valid(message)
    assert model_accepts(message)


@pytest.mark.parametrize("message", INVALID, ids=range(len(INVALID)))
def test_both_refuse(message: Any) -> None:
    assert not VALIDATOR.is_valid(message)
    assert not model_accepts(message)


def test_the_documented_examples_are_valid() -> None:
    text = (DOCS / "queue-contract.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)
    examples = [json.loads(block) for block in blocks]
    messages = [example for example in examples if "schema" in example]
    assert len(messages) == 2
    for message in messages:
        assert VALIDATOR.is_valid(message), message
        assert model_accepts(message), message


def test_the_contract_follows_the_rest_upload_rules() -> None:
    """Same types, names and limits as ``POST /v1/documents``; drift must fail here."""
    assert set(SCHEMA["properties"]["content_type"]["enum"]) == content_types.TEXT_CONTENT_TYPES
    # REST and the queue drop share one module for types and names, so they cannot drift.
    assert documents.content_type_for is content_types.content_type_for
    assert documents.safe_source_name is content_types.safe_source_name
    assert SCHEMA["properties"]["title"]["maxLength"] == MAX_TITLE_CHARS
    assert SCHEMA["properties"]["metadata"]["maxProperties"] == MAX_METADATA_KEYS
