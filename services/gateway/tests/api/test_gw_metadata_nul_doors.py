"""Metadata rules and NUL characters at both REST doors (JSON body, multipart form).

Both doors must refuse the same inputs with the same problem code: a rule that only one door
applies is how deeply nested metadata once reached the catalog through multipart and broke
dispatch for every tenant after it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from gw_harness import bearer, make_tenant

PROBLEM = "application/problem+json"


def nested(depth: int) -> dict[str, Any]:
    """Metadata whose deepest value sits inside ``depth`` objects (the metadata object included)."""
    value: Any = 1
    for _ in range(depth - 1):
        value = {"k": value}
    return {"k": value}


BAD_METADATA: dict[str, tuple[Any, str]] = {
    # Beyond pydantic's JSON nesting limit: unparseable at both doors alike, never a 500.
    "far_too_deep": (nested(300), "validation_failed"),
    "one_level_too_deep": (nested(6), "invalid_metadata"),
    "too_many_keys": ({f"k{i}": i for i in range(65)}, "invalid_metadata"),
    "nested_key_too_long": ({"k": {"x" * 101: 1}}, "invalid_metadata"),
    "too_large": ({"k": "x" * 17_000}, "invalid_metadata"),
    "integer_out_of_range": ({"k": 2**70}, "invalid_metadata"),
    "nul_in_value": ({"k": "a\x00b"}, "nul_character"),
    "nul_in_nested_key": ({"k": [{"a\x00": 1}]}, "nul_character"),
}


async def _json_upload(client: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    return await client.post(
        "/v1/documents",
        content=json.dumps({"text": "Some words.", **body}),
        headers={**bearer(key), "content-type": "application/json"},
    )


async def _form_upload(
    client: httpx.AsyncClient, key: str, *, content: bytes = b"Some words.", **fields: str
) -> httpx.Response:
    return await client.post(
        "/v1/documents",
        files={"file": ("notes.txt", content, "text/plain")},
        data=fields,
        headers=bearer(key),
    )


def _problem_code(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return str(response.json()["code"])


@pytest.mark.parametrize("case", BAD_METADATA, ids=list(BAD_METADATA))
async def test_both_doors_refuse_bad_metadata_with_the_same_code(
    client: httpx.AsyncClient, case: str
) -> None:
    tenant = await make_tenant(client, "meta")
    metadata, code = BAD_METADATA[case]
    by_json = await _json_upload(client, tenant.key, metadata=metadata)
    by_form = await _form_upload(client, tenant.key, metadata=json.dumps(metadata))
    assert (_problem_code(by_json), _problem_code(by_form)) == (code, code)
    listing = await client.get("/v1/documents", headers=bearer(tenant.key))
    assert listing.json()["documents"] == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_numbers_json_cannot_hold_are_refused_at_both_doors(
    client: httpx.AsyncClient, literal: str
) -> None:
    tenant = await make_tenant(client, "numbers")
    raw = '{"k": %s}' % literal  # noqa: UP031 - a JSON literal Python's encoder will not write
    by_json = await client.post(
        "/v1/documents",
        content='{"text": "Some words.", "metadata": %s}' % raw,  # noqa: UP031
        headers={**bearer(tenant.key), "content-type": "application/json"},
    )
    by_form = await _form_upload(client, tenant.key, metadata=raw)
    assert _problem_code(by_json) == _problem_code(by_form) == "invalid_metadata"


async def test_metadata_at_the_limits_is_stored_alike_by_both_doors(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client, "limits")
    metadata: dict[str, Any] = {
        "deep": nested(4)["k"],
        "k" * 100: [1, 2.5, None, True, "é"],
        **{f"n{i}": i for i in range(62)},
    }
    by_json = await _json_upload(client, tenant.key, metadata=metadata, title="a")
    by_form = await _form_upload(
        client, tenant.key, content=b"Other words.", metadata=json.dumps(metadata)
    )
    for response in (by_json, by_form):
        assert response.status_code == 202, response.text
        document = await client.get(
            f"/v1/documents/{response.json()['document_id']}", headers=bearer(tenant.key)
        )
        assert document.json()["metadata"] == metadata


@pytest.mark.parametrize("field", ["title", "external_id"])
async def test_nul_in_a_text_field_is_refused_at_both_doors(
    client: httpx.AsyncClient, field: str
) -> None:
    tenant = await make_tenant(client, "nul")
    by_json = await _json_upload(client, tenant.key, **{field: "a\x00b"})
    by_form = await _form_upload(client, tenant.key, **{field: "a\x00b"})
    assert _problem_code(by_json) == _problem_code(by_form) == "nul_character"


async def test_nul_in_json_text_is_refused(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, "nul-text")
    response = await client.post(
        "/v1/documents",
        json={"text": "before\x00after"},
        headers=bearer(tenant.key),
    )
    assert _problem_code(response) == "nul_character"


async def test_a_file_with_nul_bytes_is_stored_as_bytes(client: httpx.AsyncClient) -> None:
    """File content is bytes for the worker's parser (which drops control characters)."""
    tenant = await make_tenant(client, "nul-file")
    response = await _form_upload(client, tenant.key, content=b"before\x00after")
    assert response.status_code == 202, response.text
