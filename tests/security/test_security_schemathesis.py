"""Property-based fuzzing of the live gateway's OpenAPI schema (schemathesis).

A real server (uvicorn, the whole monolith) serves the schema and the requests; every operation
is called with valid credentials (the operator token for tenant management, an all-scope tenant
key elsewhere). Nothing may answer 5xx, and every response must match what the schema says:
status code, media type and body. It runs once on each catalog: SQLite (the embedded mode) and
PostgreSQL (a throwaway database per run), whose types and text rules differ (PostgreSQL refuses
NUL characters in text, for one). Bounded by ``max_examples`` to stay within a few minutes.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from security_stack import ADMIN, ADMIN_TOKEN, TARGETS, bearer

from ragline_cli.runner import build_app
from ragline_common.settings import CatalogSettings, CoreSettings
from ragline_testing import postgres
from ragline_testing.harness import embedded_settings, require_service
from ragline_testing.process import unused_port

MAX_EXAMPLES = 15
MAX_NUL_EXAMPLES = 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROOMY_GATEWAY = {
    # Fuzzing calls management routes hundreds of times a minute as one principal.
    "RAGLINE_GATEWAY_ADMIN_PER_MINUTE": "1000000",
    # A shared catalog needs the pepper from the environment, as replicas do.
    "RAGLINE_GATEWAY_KEY_PEPPER": secrets.token_hex(32),
}


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
def postgres_catalog_url() -> Iterator[str]:
    """URL of a PostgreSQL database made for this run, dropped after it."""
    require_service(postgres.PG_HOST, postgres.PG_PORT, "PostgreSQL")
    with postgres.scratch_database("ragline_fuzz") as name:
        yield postgres.catalog_url(name)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.integration),
    ],
)
def live_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    catalog_url = (
        SecretStr(request.getfixturevalue("postgres_catalog_url"))
        if request.param == "postgresql"
        else None
    )
    infra = embedded_settings(
        CoreSettings(data_dir=data_dir, admin_token=ADMIN_TOKEN),
        catalog=CatalogSettings(url=catalog_url),
    )
    with pytest.MonkeyPatch.context() as env:
        for name, value in ROOMY_GATEWAY.items():
            env.setenv(name, value)
        app = build_app(TARGETS, infra)
    port = unused_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
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


def _exercise_every_operation(
    live: LiveGateway,
    cases: Callable[[APIOperation[Any, Any, Any, Any]], SearchStrategy[Any]],
    checks: list[Any],
    max_examples: int,
) -> dict[str, str]:
    """Call every operation with the cases ``cases`` makes for it; failures by operation.

    The schema is loaded from the running server, not from the code: what clients see.
    (schemathesis' lazy pytest loader does not work with pytest 9, hence the explicit loop.)
    """
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=cases(operation))
        @settings(
            max_examples=max_examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            # No shrinking: a failing operation is reported with the example that failed, not
            # after hundreds more requests looking for a smaller one (that kept runs unbounded).
            phases=[Phase.explicit, Phase.generate],
        )
        def exercise(case: Any) -> None:
            case.call_and_validate(headers=_credentials(case.path, live), checks=checks, timeout=30)

        try:
            exercise()
        except Unsatisfiable:
            failures[operation.label] = "unsatisfiable"
        except Exception as exc:
            failures[operation.label] = str(exc)[:2000]
    assert operations >= 15
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_and_never_fails(
    live_gateway: LiveGateway, mode: GenerationMode
) -> None:
    """Positive: valid requests as the schema allows them. Negative: requests that break it
    (wrong types, missing fields, out-of-range values), which must be 4xx, never 5xx."""
    failures = _exercise_every_operation(
        live_gateway, lambda operation: operation.as_strategy(mode), CHECKS, MAX_EXAMPLES
    )
    if mode is GenerationMode.NEGATIVE:
        # Nothing of some requests can be made invalid (no parameters, no body).
        failures = {name: text for name, text in failures.items() if text != "unsatisfiable"}
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())


def _with_nul(value: Any) -> Any:
    """The value with a NUL character in the middle of every string in it."""
    if isinstance(value, str):
        middle = len(value) // 2
        return f"{value[:middle]}\x00{value[middle:]}"
    if isinstance(value, dict):
        return {key: _with_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_nul(item) for item in value]
    return value


def _nul_everywhere(case: Any) -> Any:
    case.path_parameters = _with_nul(case.path_parameters)
    case.query = _with_nul(case.query)
    case.body = _with_nul(case.body)
    return case


def test_nul_characters_in_any_field_never_fail(live_gateway: LiveGateway) -> None:
    """Valid requests with a NUL in every string (ids in the path, query values, body fields):
    PostgreSQL refuses NUL in text, so each door must refuse it first (4xx) or keep it out of
    the catalog. Random generation almost never produces one, hence this directed pass."""
    failures = _exercise_every_operation(
        live_gateway,
        lambda operation: operation.as_strategy(GenerationMode.POSITIVE).map(_nul_everywhere),
        [not_a_server_error],
        MAX_NUL_EXAMPLES,
    )
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())


def test_a_nul_in_a_tenant_or_key_id_of_the_path_is_a_4xx(live_gateway: LiveGateway) -> None:
    """The directed twin of the NUL pass for the ids in tenant and key paths (a 500 with the
    PostgreSQL catalog before they were validated at the door)."""
    bad = "ten_%00x"
    calls = [
        ("GET", f"/v1/tenants/{bad}", None),
        ("PATCH", f"/v1/tenants/{bad}", {}),
        ("DELETE", f"/v1/tenants/{bad}", None),
        ("GET", f"/v1/tenants/{bad}/keys", None),
        ("POST", f"/v1/tenants/{bad}/keys", {"scopes": ["query"]}),
        ("DELETE", f"/v1/tenants/{bad}/keys/key_%00", None),
        ("POST", f"/v1/tenants/{bad}/keys/key_%00/rotate", {}),
    ]
    with httpx.Client(base_url=live_gateway.base_url, timeout=30, headers=ADMIN) as http:
        answers = {
            f"{method} {path}": http.request(method, path, json=body).status_code
            for method, path, body in calls
        }
    assert all(400 <= status < 500 for status in answers.values()), answers
