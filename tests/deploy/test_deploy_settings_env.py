"""The deployment files and the settings classes agree.

Known variables are derived from the pydantic-settings classes (``model_fields`` and
``env_prefix``), never listed by hand, so a renamed setting or a typo in compose or Kubernetes
fails here. The microservices-mode requirements below are the settings that have safe
single-node defaults but must be set when each service runs alone (ADR 0002, 0003, 0005).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "ingestion", "retrieval", "generation")

_BROKER = {"RAGLINE_BROKER_KIND", "RAGLINE_BROKER_URL"}
_VECTORS = {"RAGLINE_VECTOR_STORE_KIND", "RAGLINE_VECTOR_STORE_URL", "RAGLINE_VECTOR_STORE_API_KEY"}
REQUIRED_IN_MICROSERVICES: dict[str, set[str]] = {
    "gateway": _BROKER
    | {
        "RAGLINE_CATALOG_URL",
        "RAGLINE_INTERNAL_TOKEN",
        "RAGLINE_ADMIN_TOKEN",
        "RAGLINE_GATEWAY_KEY_PEPPER",
        "RAGLINE_GATEWAY_RATE_LIMITER",
        "RAGLINE_GATEWAY_REDIS_URL",
        "RAGLINE_GATEWAY_RETRIEVAL_URL",
        "RAGLINE_GATEWAY_GENERATION_URL",
    },
    "ingestion": _BROKER | _VECTORS,
    "retrieval": _VECTORS | {"RAGLINE_INTERNAL_TOKEN"},
    "generation": {"RAGLINE_INTERNAL_TOKEN"},
}
EXPECTED_VALUES = {
    "RAGLINE_BROKER_KIND": "rabbitmq",
    "RAGLINE_VECTOR_STORE_KIND": "qdrant",
    "RAGLINE_GATEWAY_RATE_LIMITER": "redis",
}
GATEWAY_ONLY = {"RAGLINE_CATALOG_URL", "RAGLINE_ADMIN_TOKEN", "RAGLINE_GATEWAY_KEY_PEPPER"}
"""The catalog belongs to the gateway (ADR 0003): no other container gets its credentials."""

THIRD_PARTY = re.compile(
    r"^(OTEL_[A-Z_]+|HF_HUB_OFFLINE|HF_HOME|TRANSFORMERS_OFFLINE|PYTHON[A-Z]+|PATH)$"
)
"""Variables read by libraries rather than by Ragline settings (OpenTelemetry SDK, Hugging Face)."""


def _sources(
    compose_env: dict[str, dict[str, str]], k8s_env: dict[str, dict[str, dict[str, str]]] | None
) -> Iterable[tuple[str, str, dict[str, str]]]:
    for service in SERVICES:
        yield "compose", service, compose_env[service]
    for overlay, services in (k8s_env or {}).items():
        for service, env in services.items():
            yield f"k8s/{overlay}", service, env


def test_the_required_names_are_real_settings(known_env: frozenset[str]) -> None:
    """If a setting is renamed, this list must follow (and so must compose and k8s)."""
    listed = set().union(*REQUIRED_IN_MICROSERVICES.values()) | set(EXPECTED_VALUES)
    assert listed <= known_env, f"not read by any settings class: {sorted(listed - known_env)}"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_sets_what_each_service_needs(
    compose_env: dict[str, dict[str, str]],
    required_without_default: dict[str, frozenset[str]],
    service: str,
) -> None:
    env = compose_env[service]
    needed = REQUIRED_IN_MICROSERVICES[service] | required_without_default[service]
    missing = sorted(name for name in needed if not env.get(name))
    assert not missing, f"compose {service} lacks {missing}"
    for name, value in EXPECTED_VALUES.items():
        if name in env:
            assert env[name] == value, f"compose {service}: {name}={env[name]}"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_sets_what_each_service_needs(
    k8s_env: dict[str, dict[str, dict[str, str]]],
    required_without_default: dict[str, frozenset[str]],
    service: str,
) -> None:
    for overlay, services in k8s_env.items():
        env = services[service]
        needed = REQUIRED_IN_MICROSERVICES[service] | required_without_default[service]
        missing = sorted(name for name in needed if not env.get(name))
        assert not missing, f"k8s/{overlay} {service} lacks {missing}"
        for name, value in EXPECTED_VALUES.items():
            if name in env:
                assert env[name] == value, f"k8s/{overlay} {service}: {name}={env[name]}"


def test_catalog_credentials_reach_only_the_gateway(
    compose_env: dict[str, dict[str, str]], k8s_env: dict[str, dict[str, dict[str, str]]]
) -> None:
    for source, service, env in _sources(compose_env, k8s_env):
        if service != "gateway":
            assert not GATEWAY_ONLY & set(env), f"{source} {service} gets {GATEWAY_ONLY & set(env)}"


def test_no_unknown_variables_in_compose(
    compose_env: dict[str, dict[str, str]],
    unknown_ragline_names: Callable[[Iterable[str]], list[str]],
) -> None:
    for service in SERVICES:
        names = compose_env[service]
        assert not unknown_ragline_names(names), (
            f"compose {service}: unknown {unknown_ragline_names(names)}"
        )
        foreign = [n for n in names if not n.startswith("RAGLINE_") and not THIRD_PARTY.match(n)]
        assert not foreign, f"compose {service}: {foreign} are read by nothing we know"


def test_no_unknown_variables_in_k8s(
    k8s_env: dict[str, dict[str, dict[str, str]]],
    unknown_ragline_names: Callable[[Iterable[str]], list[str]],
) -> None:
    for overlay, services in k8s_env.items():
        for service, env in services.items():
            assert not unknown_ragline_names(env), (
                f"k8s/{overlay} {service}: {unknown_ragline_names(env)}"
            )
            foreign = [n for n in env if not n.startswith("RAGLINE_") and not THIRD_PARTY.match(n)]
            assert not foreign, f"k8s/{overlay} {service}: {foreign} are read by nothing we know"


def test_no_unknown_variables_in_the_k8s_config_files(
    unknown_ragline_names: Callable[[Iterable[str]], list[str]],
) -> None:
    """Also checks keys no Deployment picks up yet (they would be silently ignored)."""
    files = [
        REPO / "deploy/k8s/base/config.env",
        *REPO.glob("deploy/k8s/overlays/*/secrets.env.example"),
    ]
    for path in files:
        names = re.findall(r"^([A-Z][A-Z0-9_]*)=", path.read_text(), flags=re.MULTILINE)
        assert not unknown_ragline_names(names), f"{path}: {unknown_ragline_names(names)}"


def test_no_unknown_variables_in_dockerfiles(
    unknown_ragline_names: Callable[[Iterable[str]], list[str]],
) -> None:
    text = (REPO / "Dockerfile").read_text()  # one file, every target's stage
    names = re.findall(r"\b(RAGLINE_[A-Z0-9_]+)=", text)
    assert names, "Dockerfile sets no RAGLINE_ defaults"
    assert not unknown_ragline_names(names), unknown_ragline_names(names)


def _validate_settings(
    settings_classes: list[type[BaseSettings]], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    for name in list(os.environ):
        if name.startswith("RAGLINE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    problems: list[str] = []
    for cls in settings_classes:
        try:
            cls(_env_file=None)
        except ValidationError as exc:
            problems.append(f"{cls.__name__}: {exc}")
    return problems


@pytest.mark.parametrize("service", SERVICES)
def test_compose_values_pass_settings_validation(
    settings_classes: list[type[BaseSettings]],
    compose_env: dict[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    service: str,
) -> None:
    """Values, not just names: e.g. a token shorter than 16 characters or a misspelt kind."""
    problems = _validate_settings(settings_classes, compose_env[service], monkeypatch)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_values_pass_settings_validation(
    settings_classes: list[type[BaseSettings]],
    k8s_env: dict[str, dict[str, dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    service: str,
) -> None:
    for overlay, services in k8s_env.items():
        problems = _validate_settings(settings_classes, services[service], monkeypatch)
        assert not problems, f"k8s/{overlay}:\n" + "\n".join(problems)


def test_validation_catches_a_bad_value(
    settings_classes: list[type[BaseSettings]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the two tests above: a wrong kind must be reported."""
    problems = _validate_settings(settings_classes, {"RAGLINE_BROKER_KIND": "kafka"}, monkeypatch)
    assert any("BrokerSettings" in problem for problem in problems)
