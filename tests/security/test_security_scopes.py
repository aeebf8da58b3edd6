"""Scopes: every operation of the live OpenAPI schema, called by every kind of principal.

The isolation test proves one tenant cannot reach another; this one proves that, inside a
tenant, a key reaches only what its scope grants. Above all a leaked ``ingest`` key (a queue
producer's) must not read the index: not documents, not chunks, not usage. The expectations
are a table, one row per operation; a route added later without a row fails here, so whoever
adds it has to decide who may call it.

A principal is *allowed* when its request gets past authorisation (any answer but 401/403: a
404 for an id that does not exist, or a 422 for the empty body sent here, still proves the
door opened); it is *refused* when the answer is 403. Destructive operations are aimed at ids
that do not exist, so one pass can call them all without erasing what later calls need.
"""

from __future__ import annotations

import re

from security_stack import (
    ADMIN,
    Stack,
    TenantFixture,
    bearer,
    create_tenant,
    openapi_operations,
    upload_and_index,
)

INGEST, QUERY, ADMIN_KEY, OPERATOR = "ingest", "query", "admin", "operator"
PRINCIPALS = (INGEST, QUERY, ADMIN_KEY, OPERATOR)
TENANT_ADMINS = frozenset({ADMIN_KEY, OPERATOR})
CONTENT_READERS = frozenset({QUERY, ADMIN_KEY})
"""Reading stored content (documents, chunks) or usage needs ``query`` or ``admin``."""

EXPECTED: dict[str, frozenset[str]] = {
    "GET /v1/tenants": frozenset({OPERATOR}),
    "POST /v1/tenants": frozenset({OPERATOR}),
    "GET /v1/tenants/{tenant_id}": TENANT_ADMINS,
    "PATCH /v1/tenants/{tenant_id}": frozenset({OPERATOR}),
    "DELETE /v1/tenants/{tenant_id}": frozenset({OPERATOR}),
    "POST /v1/tenants/{tenant_id}/keys": TENANT_ADMINS,
    "GET /v1/tenants/{tenant_id}/keys": TENANT_ADMINS,
    "POST /v1/tenants/{tenant_id}/keys/{key_id}/rotate": TENANT_ADMINS,
    "DELETE /v1/tenants/{tenant_id}/keys/{key_id}": TENANT_ADMINS,
    "POST /v1/documents": frozenset({INGEST}),
    "GET /v1/documents": CONTENT_READERS,
    "GET /v1/documents/{document_id}": CONTENT_READERS,
    "DELETE /v1/documents/{document_id}": frozenset({INGEST}),
    "GET /v1/documents/{document_id}/chunks": CONTENT_READERS,
    # A job's status (ids, state, a fixed failure reason, a chunk count) shows no content: the
    # producer that uploaded with an ingest key must be able to follow its upload.
    "GET /v1/jobs/{job_id}": frozenset({INGEST, QUERY, ADMIN_KEY}),
    "GET /v1/jobs": frozenset({INGEST, QUERY, ADMIN_KEY}),
    # Who the credential is and its scopes: what the console shows or hides (issue 16).
    "GET /v1/whoami": frozenset(PRINCIPALS),
    "GET /v1/usage": CONTENT_READERS,
    "POST /v1/search": frozenset({QUERY}),
    "POST /v1/query": frozenset({QUERY}),
    "GET /v1/models": frozenset({QUERY}),
    "POST /v1/chat/completions": frozenset({QUERY}),
    "GET /v1/admin/dead-letters": TENANT_ADMINS,
    "DELETE /v1/admin/dead-letters": TENANT_ADMINS,
    "POST /v1/admin/dead-letters/{dead_letter_id}/replay": TENANT_ADMINS,
    # Which model index every tenant's searches read is the deployment's, not a tenant's.
    "GET /v1/admin/index-models": frozenset({OPERATOR}),
    "POST /v1/admin/index-models": frozenset({OPERATOR}),
    "GET /v1/admin/index-models/{spec}": frozenset({OPERATOR}),
    "DELETE /v1/admin/index-models/{spec}": frozenset({OPERATOR}),
    "POST /v1/admin/index-models/{spec}/activate": frozenset({OPERATOR}),
}
_PARAM = re.compile(r"{([^}]+)}")
_MISSING = "0000000000000000000000000000dead"


def _path(method: str, template: str, tenant: TenantFixture) -> str:
    """The template filled with the tenant's own ids, or with absent ids where a call by an
    allowed principal would destroy something (a tenant, a key, a document, a dead letter)."""
    destructive = method == "DELETE" or template.endswith(("/rotate", "/replay"))
    values = {
        "tenant_id": _MISSING if template == "/v1/tenants/{tenant_id}" and destructive else None,
        "document_id": _MISSING if destructive else tenant.documents[0],
        "job_id": tenant.jobs[0],
        "key_id": _MISSING,
        "dead_letter_id": _MISSING,
        # A model index never started here: activating or dropping it changes nothing.
        "spec": "onnx",
    }
    path = template
    for name in _PARAM.findall(template):
        value = values.get(name) or (tenant.id if name == "tenant_id" else None)
        assert value is not None, f"no value for {{{name}}} in {template}"
        path = path.replace(f"{{{name}}}", value)
    return path


async def test_every_operation_admits_exactly_the_scopes_its_row_names(stack: Stack) -> None:
    client = stack.client
    tenant = await create_tenant(client, "scoped")
    roomy = {"rate_limits": {"query_per_minute": 100_000, "ingest_per_minute": 100_000}}
    patched = await client.patch(f"/v1/tenants/{tenant.id}", json=roomy, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    await upload_and_index(client, tenant, "Scoped otters sleep holding hands.")
    headers = {
        INGEST: bearer(tenant.keys["ingest"]),
        QUERY: bearer(tenant.keys["query"]),
        ADMIN_KEY: bearer(tenant.keys["admin"]),
        OPERATOR: ADMIN,
    }
    schema = (await client.get("/openapi.json")).json()
    operations = {f"{method} {path}": op for method, path, op in openapi_operations(schema)}
    assert set(operations) == set(EXPECTED), (
        f"operations without a row: {sorted(set(operations) - set(EXPECTED))}; "
        f"rows without an operation: {sorted(set(EXPECTED) - set(operations))}"
    )

    wrong: list[str] = []
    for label, operation in operations.items():
        method, template = label.split(" ", 1)
        path = _path(method, template, tenant)
        has_body = "application/json" in operation.get("requestBody", {}).get("content", {})
        for principal in PRINCIPALS:
            response = await client.request(
                method, path, json={} if has_body else None, headers=headers[principal]
            )
            assert response.status_code != 401, f"{label} as {principal}: {response.text}"
            assert response.status_code < 500, f"{label} as {principal}: {response.text}"
            allowed = response.status_code != 403
            if allowed != (principal in EXPECTED[label]):
                wrong.append(f"{label} as {principal}: {response.status_code} {response.text}")
    assert not wrong, "\n".join(wrong)
