"""Document metadata: one rule, defined here, for every door and for the ingest envelope.

Metadata comes from clients (a JSON body, a multipart form field, a queue-drop message), is
stored in the catalog, copied into each ingest message and into every chunk's payload in the
vector store. A rule that one door forgot once let deeply nested metadata through, and the ingest
message could then not be built for it: so the JSON door, the multipart door, the queue drop and
:class:`~ragline_common.messages.DocumentIngestRequested` all validate with :data:`Metadata`.

The limits keep each copy small and every consumer safe: a bounded nesting depth (no recursion
limit is ever reached, whatever parses it), a bounded serialised size (it is repeated per chunk),
integers that fit the vector store's 64-bit payload numbers, finite numbers only (JSON has no
NaN), and no NUL characters in keys or strings (PostgreSQL cannot store them).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, JsonValue, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from ragline_common.contracts.characters import NUL_CHARACTER, refuse_nul

MAX_KEYS = 64
"""Keys of the metadata object itself."""
MAX_KEY_CHARS = 100
"""Characters of any key, at any depth (at least one)."""
MAX_DEPTH = 5
"""Objects and arrays nested in one another, the metadata object included."""
MAX_BYTES = 16 * 1024
"""UTF-8 bytes of the compact JSON form."""
MAX_NUMBER = 2**63 - 1
MIN_NUMBER = -(2**63)
"""Numbers must lie in the signed 64-bit range the vector store's payload holds."""
MAX_RAW_CHARS = 4 * MAX_BYTES
"""Longest metadata *text* parsed at all (a multipart field): room for indentation, no more."""

INVALID_METADATA = "invalid_metadata"
"""Problem code, and pydantic error type, of metadata that breaks a rule above."""


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError(INVALID_METADATA, message)


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_CHARS:
        raise _refuse(f"metadata keys must have 1-{MAX_KEY_CHARS} characters")
    refuse_nul(key)


def _check_scalar(value: object) -> None:
    if isinstance(value, str):
        refuse_nul(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise _refuse("metadata numbers must be finite (JSON has no NaN or Infinity)")
        if not MIN_NUMBER <= value <= MAX_NUMBER:
            raise _refuse("metadata numbers must lie between -2^63 and 2^63-1")
    else:
        raise _refuse(f"metadata values must be JSON values, not {type(value).__name__}")


def _check_tree(metadata: dict[str, Any]) -> None:
    """Walk without recursion, refusing a container deeper than :data:`MAX_DEPTH` on sight."""
    pending: list[tuple[object, int]] = [(metadata, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise _refuse(f"metadata may nest objects and arrays at most {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, str):
                    raise _refuse("metadata keys must be strings")
                _check_key(key)
                pending.append((child, depth + 1))
        elif isinstance(value, list):
            pending.extend((child, depth + 1) for child in value)
        else:
            _check_scalar(value)


def serialised_size(metadata: dict[str, Any]) -> int:
    """Bytes of the compact UTF-8 JSON form: the unit of :data:`MAX_BYTES`."""
    text = json.dumps(metadata, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


def check_metadata(metadata: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``metadata`` unchanged if it keeps every rule; else a pydantic error of a stable type."""
    if len(metadata) > MAX_KEYS:
        raise _refuse(f"metadata may have at most {MAX_KEYS} keys")
    _check_tree(metadata)
    try:
        size = serialised_size(metadata)
    except UnicodeEncodeError:
        raise _refuse("metadata strings must be valid Unicode (no lone surrogates)") from None
    if size > MAX_BYTES:
        raise _refuse(f"metadata takes {size} bytes as JSON; at most {MAX_BYTES} are accepted")
    return metadata


Metadata = Annotated[dict[str, JsonValue], AfterValidator(check_metadata)]
"""A document's metadata, valid under every rule of this module."""

METADATA = TypeAdapter(Metadata)
"""Validates metadata given as JSON text (``METADATA.validate_json``), as multipart sends it."""

_RULE_CODES = frozenset({INVALID_METADATA, NUL_CHARACTER})


def rule_code(exc: ValidationError, *, default: str) -> str:
    """The stable code of the first shared rule ``exc`` reports (metadata, NUL), else ``default``.

    Every door maps its validation errors through this, so one input gets one code at all of them.
    """
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        if error["type"] in _RULE_CODES:
            return error["type"]
    return default


def metadata_json_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The rules as JSON Schema: the ``metadata`` property and the ``$defs`` it refers to.

    The published queue-drop schema embeds exactly this (a test compares them). JSON Schema
    cannot count serialised bytes; :data:`MAX_BYTES` is stated in the description.
    """
    no_nul = "^[^\\u0000]*$"
    key = {"minLength": 1, "maxLength": MAX_KEY_CHARS, "pattern": no_nul}
    scalars: list[dict[str, Any]] = [
        {"type": "string", "pattern": no_nul},
        {"type": "number", "minimum": MIN_NUMBER, "maximum": MAX_NUMBER},
        {"type": "boolean"},
        {"type": "null"},
    ]

    def ref(level: int) -> dict[str, str]:
        return {"$ref": f"#/$defs/metadata_value_{level}"}

    defs: dict[str, Any] = {}
    # metadata_value_N: a value whose container, if it is one, would sit at nesting level N.
    for level in range(2, MAX_DEPTH + 2):
        choices = list(scalars)
        if level <= MAX_DEPTH:
            choices += [
                {"type": "array", "items": ref(level + 1)},
                {"type": "object", "propertyNames": key, "additionalProperties": ref(level + 1)},
            ]
        defs[f"metadata_value_{level}"] = {"anyOf": choices}
    prop = {
        "description": (
            "Returned with every search hit of the document and usable in search filters. "
            f"At most {MAX_KEYS} keys; keys of 1-{MAX_KEY_CHARS} characters at every level; "
            f"objects and arrays nested at most {MAX_DEPTH} deep (this object included); "
            f"numbers between -2^63 and 2^63-1; no NUL characters; at most {MAX_BYTES} bytes "
            "as compact UTF-8 JSON."
        ),
        "type": "object",
        "maxProperties": MAX_KEYS,
        "propertyNames": key,
        "additionalProperties": ref(2),
    }
    return prop, defs
