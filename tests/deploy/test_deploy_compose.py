"""docker-compose.yml: valid against the Compose Specification, healthy start-up ordering, state
on named volumes, and secrets only through required interpolation from the operator's ``.env``.

No Docker engine is needed: the schema is the one check-jsonschema vendors
(``vendor.compose-spec``, Apache-2.0, from github.com/compose-spec/compose-spec).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "ingestion", "retrieval", "generation")

STATEFUL = {
    "qdrant": "/qdrant/storage",
    "rabbitmq": "/var/lib/rabbitmq",
    "redis": "/data",
    "postgres": "/var/lib/postgresql/data",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
}
INFRASTRUCTURE = (
    "qdrant",
    "rabbitmq",
    "redis",
    "postgres",
    "otel-collector",
    "jaeger",
    "prometheus",
    "grafana",
)


def _compose_schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = _compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(
        validator_class(schema).iter_errors(compose), key=lambda error: list(error.path)
    )
    assert not errors, "\n".join(
        f"{'/'.join(map(str, error.path))}: {error.message}" for error in errors
    )


def test_the_schema_rejects_what_compose_rejects(compose: dict[str, Any]) -> None:
    """Guards the test above: a misspelt key must not validate."""
    broken = {**compose, "services": {**compose["services"], "gateway": {"imagee": "x"}}}
    schema = _compose_schema()
    assert not jsonschema.validators.validator_for(schema)(schema).is_valid(broken)


def test_every_service_and_its_dependencies_are_present(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {*SERVICES, *INFRASTRUCTURE}


@pytest.mark.parametrize("service", [*SERVICES, *INFRASTRUCTURE])
def test_every_service_has_a_healthcheck(compose: dict[str, Any], service: str) -> None:
    healthcheck = compose["services"][service].get("healthcheck")
    assert healthcheck, f"{service} has no healthcheck"
    assert not healthcheck.get("disable", False)
    assert healthcheck["test"][0] in ("CMD", "CMD-SHELL")


@pytest.mark.parametrize("service", SERVICES)
def test_ragline_services_probe_healthz_on_their_port(
    compose: dict[str, Any], service: str
) -> None:
    probe = " ".join(compose["services"][service]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in probe


def test_dependencies_wait_for_healthy_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions (long form)"
        for dependency, condition in depends_on.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency], f"{dependency} cannot become healthy"


def test_gateway_waits_for_everything_it_calls(compose: dict[str, Any]) -> None:
    depends_on = set(compose["services"]["gateway"]["depends_on"])
    assert {"postgres", "rabbitmq", "redis", "retrieval", "generation"} <= depends_on


@pytest.mark.parametrize(("service", "path"), STATEFUL.items())
def test_stateful_services_keep_data_on_named_volumes(
    compose: dict[str, Any], service: str, path: str
) -> None:
    mounts = {
        volume.split(":")[1]: volume.split(":")[0]
        for volume in compose["services"][service].get("volumes", [])
    }
    assert path in mounts, f"{service} keeps {path} in the container layer"
    assert mounts[path] in compose["volumes"], f"{service}:{path} is not on a named volume"


def test_only_the_gateway_is_published_beyond_localhost(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if name != "gateway":
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} publicly"
    for service in ("ingestion", "retrieval", "generation"):
        assert "ports" not in compose["services"][service], f"{service} is internal only"


@pytest.mark.parametrize("service", SERVICES)
def test_ragline_containers_are_hardened(compose: dict[str, Any], service: str) -> None:
    definition = compose["services"][service]
    assert definition["read_only"] is True
    assert "/tmp" in definition["tmpfs"]
    assert "no-new-privileges:true" in definition["security_opt"]
    assert definition["build"]["context"] == "."
    assert definition["build"]["dockerfile"] == "Dockerfile"
    assert definition["build"]["args"] == {"TARGET": service}


def test_operator_secrets_are_required_variables_not_values(
    compose_required_variables: frozenset[str],
) -> None:
    assert {
        "RAGLINE_ADMIN_TOKEN",
        "RAGLINE_INTERNAL_TOKEN",
        "RAGLINE_GATEWAY_KEY_PEPPER",
        "POSTGRES_PASSWORD",
        "RABBITMQ_PASSWORD",
        "REDIS_PASSWORD",
        "QDRANT_API_KEY",
        "GRAFANA_ADMIN_PASSWORD",
    } <= compose_required_variables


def test_secret_settings_come_only_from_interpolation(
    compose: dict[str, Any], settings_classes: list[Any]
) -> None:
    """Every SecretStr setting (token, pepper, URL with credentials) set in compose must embed
    a required variable: a literal there would be a secret committed to the repository."""
    secret_names = {
        f"{cls.model_config.get('env_prefix', '')}{field_name}".upper()
        for cls in settings_classes
        for field_name, field in cls.model_fields.items()
        if "SecretStr" in str(field.annotation)
    }
    for service in SERVICES:
        environment = compose["services"][service]["environment"]
        for name in secret_names & set(environment):
            assert re.search(r"\$\{[A-Z0-9_]+:\?", str(environment[name])), (
                f"{service}: {name} is set to a literal"
            )


def test_every_required_variable_is_documented_in_the_example(
    compose_required_variables: frozenset[str],
) -> None:
    example = (REPO / "deploy" / "compose.env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=$", example, flags=re.MULTILINE))
    assert documented == compose_required_variables, (
        "deploy/compose.env.example must list exactly the required variables, with empty values"
    )


def test_grafana_provisioning_files_exist(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"bind mount source {source} is missing"
    datasources = REPO / "deploy/grafana/provisioning/datasources/datasources.yaml"
    assert "http://prometheus:9090" in datasources.read_text()
