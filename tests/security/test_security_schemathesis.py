"""Property-based fuzzing of the live gateway's OpenAPI schema (schemathesis).

A real server (uvicorn, the whole monolith) serves the schema and the requests; every operation
is called with valid credentials (the operator token for tenant management, an all-scope tenant
key elsewhere). Nothing may answer 5xx, and every response must match what the schema says:
status code, media type and body. Bounded by ``max_examples`` to stay within a couple of minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from security_stack import ADMIN, ADMIN_TOKEN, TARGETS, bearer

from ragline_cli.runner import build_app
from ragline_common.settings import (
    BrokerSettings,
    CatalogSettings,
    CoreSettings,
    EmbedderSettings,
    InfrastructureSettings,
    VectorStoreSettings,
)
from ragline_common.testing_process import unused_port

MAX_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class LiveGateway:
    base_url: str
    tenant_key: str


def _provision(base_url: str) -> str:
    """A tenant with an all-scope key, roomy limits and one indexed document."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        tenant = http.post("/v1/tenants", json={"name": "fuzzed"}, headers=ADMIN).json()
        roomy = {"rate_limits": {"query_per_minute": 1_000_000, "ingest_per_minute": 1_000_000}}
        assert http.patch(f"/v1/tenants/{tenant['id']}", json=roomy, headers=ADMIN).is_success
        key = http.post(
            f"/v1/tenants/{tenant['id']}/keys",
            json={"scopes": ["ingest", "query", "admin"]},
            headers=ADMIN,
        ).json()["key"]
        upload = http.post(
            "/v1/documents", json={"text": "Otters sleep holding hands."}, headers=bearer(key)
        )
        assert upload.status_code == 202, upload.text
        return str(key)


@pytest.fixture(scope="module")
def live_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    infra = InfrastructureSettings(
        core=CoreSettings(data_dir=data_dir, admin_token=ADMIN_TOKEN),
        broker=BrokerSettings(kind="memory"),
        catalog=CatalogSettings(),
        vector_store=VectorStoreSettings(kind="edge"),
        embedder=EmbedderSettings(kind="hash"),
    )
    port = unused_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(TARGETS, infra), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="schemathesis-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{port}"
    try:
        yield LiveGateway(base_url, _provision(base_url))
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _credentials(path: str, live: LiveGateway) -> dict[str, str]:
    # Tenant management is the operator's; a tenant's admin key manages only its own keys.
    if path.startswith("/v1/tenants"):
        return ADMIN
    return bearer(live.tenant_key)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_and_never_fails(
    live_gateway: LiveGateway, mode: GenerationMode
) -> None:
    """Positive: valid requests as the schema allows them. Negative: requests that break it
    (wrong types, missing fields, out-of-range values), which must be 4xx, never 5xx."""
    # The schema is loaded from the running server, not from the code: what clients see.
    # (schemathesis' lazy pytest loader does not work with pytest 9, hence the explicit loop.)
    schema = schemathesis.openapi.from_url(f"{live_gateway.base_url}/openapi.json")
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: Any) -> None:
            case.call_and_validate(
                headers=_credentials(case.path, live_gateway), checks=CHECKS, timeout=30
            )

        try:
            exercise()
        except Unsatisfiable:
            # Nothing of the request can be made invalid (no parameters, no body).
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:
            failures[operation.label] = str(exc)[:2000]
    assert operations >= 15
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())
