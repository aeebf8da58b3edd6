"""Fixtures for the deployment tests: the compose file, rendered Kubernetes overlays, and the
environment variables the services' settings classes read.

Everything here works offline and without a container engine: compose is checked against the
Compose Specification schema vendored by check-jsonschema, overlays are rendered by
``kubectl kustomize`` (or ``kustomize``) when one is on PATH, and the list of known variables is
derived from the pydantic-settings classes themselves, so a renamed setting breaks these tests
instead of silently breaking a deployment.
"""

from __future__ import annotations

import base64
import importlib
import pkgutil
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, BaseModel
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "ingestion", "retrieval", "generation")
OVERLAYS = ("dev", "prod")

_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[?-])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)
_EXAMPLE_PLACEHOLDER = re.compile(r"<[^<>]+>")


def _settings_classes() -> list[type[BaseSettings]]:
    """Every settings class of every installed ``ragline_*`` package.

    By convention (docs: STYLE.md) each package keeps its settings in ``<package>.settings``;
    importing those modules and then walking ``BaseSettings.__subclasses__`` also finds classes
    they import from elsewhere.
    """
    for module in pkgutil.iter_modules():
        if not (module.ispkg and module.name.startswith("ragline_")):
            continue
        try:
            importlib.import_module(f"{module.name}.settings")
        except ModuleNotFoundError as exc:
            if exc.name != f"{module.name}.settings":
                raise
    found: list[type[BaseSettings]] = []
    pending = list(BaseSettings.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("ragline_") and ".tests" not in cls.__module__:
            found.append(cls)
    return found


def _env_names(cls: type[BaseSettings], field_name: str) -> list[str]:
    field = cls.model_fields[field_name]
    alias = field.validation_alias or field.alias
    if isinstance(alias, str):
        return [alias.upper()]  # pydantic-settings: an alias replaces prefix + name
    if isinstance(alias, AliasChoices):
        return [choice.upper() for choice in alias.choices if isinstance(choice, str)]
    return [f"{cls.model_config.get('env_prefix', '')}{field_name}".upper()]


def _owning_service(env_prefix: str) -> str | None:
    """The service whose settings use ``env_prefix``, or None for settings every process reads."""
    for service in SERVICES:
        if env_prefix.upper() == f"RAGLINE_{service.upper()}_":
            return service
    return None


@pytest.fixture(scope="session")
def settings_classes() -> list[type[BaseSettings]]:
    classes = _settings_classes()
    assert classes, "no ragline settings classes found: is the workspace installed?"
    return classes


@pytest.fixture(scope="session")
def known_env(settings_classes: list[type[BaseSettings]]) -> frozenset[str]:
    """Every environment variable some settings class reads (upper case)."""
    return frozenset(
        name
        for cls in settings_classes
        for field_name in cls.model_fields
        for name in _env_names(cls, field_name)
    )


@pytest.fixture(scope="session")
def nested_env_prefixes(settings_classes: list[type[BaseSettings]]) -> frozenset[str]:
    """``<VAR>__`` prefixes of fields holding a model (set through ``env_nested_delimiter``)."""
    prefixes: set[str] = set()
    for cls in settings_classes:
        delimiter = cls.model_config.get("env_nested_delimiter") or ""
        for field_name, field in cls.model_fields.items():
            annotation = field.annotation
            if delimiter and isinstance(annotation, type) and issubclass(annotation, BaseModel):
                prefixes.update(f"{name}{delimiter}" for name in _env_names(cls, field_name))
    return frozenset(prefixes)


@pytest.fixture(scope="session")
def required_without_default(
    settings_classes: list[type[BaseSettings]],
) -> dict[str, frozenset[str]]:
    """Per service: variables of fields that have no default (the process cannot start without)."""
    required: dict[str, set[str]] = {service: set() for service in SERVICES}
    for cls in settings_classes:
        owner = _owning_service(str(cls.model_config.get("env_prefix", "")))
        for field_name, field in cls.model_fields.items():
            if not field.is_required():
                continue
            for service in [owner] if owner else SERVICES:
                required[service].update(_env_names(cls, field_name)[:1])
    return {service: frozenset(names) for service, names in required.items()}


@pytest.fixture(scope="session")
def unknown_ragline_names(
    known_env: frozenset[str], nested_env_prefixes: frozenset[str]
) -> Callable[[Iterable[str]], list[str]]:
    """Names with the RAGLINE_ prefix that no settings class reads: typos, or stale settings."""

    def unknown(names: Iterable[str]) -> list[str]:
        return sorted(
            name
            for name in names
            if name.upper().startswith("RAGLINE_")
            and name.upper() not in known_env
            and not any(name.upper().startswith(prefix) for prefix in nested_env_prefixes)
        )

    return unknown


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose-style interpolation (``${X}``, ``${X:?err}``, ``${X:-default}``, ``$$``).

    Like compose, a ``?`` form with the variable missing is an error, which here fails the test.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = variables.get(name)
        empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op in ("?", ":?") and empty:
            raise AssertionError(f"required variable {name} is missing: {arg}")
        if op in ("-", ":-") and empty:
            return arg
        return value or ""

    return _INTERPOLATION.sub(replace, text)


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


@pytest.fixture(scope="session")
def compose_text() -> str:
    return (REPO / "docker-compose.yml").read_text()


@pytest.fixture(scope="session")
def compose(compose_text: str) -> dict[str, Any]:
    loaded = yaml.safe_load(compose_text)
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="session")
def compose_required_variables(compose: dict[str, Any]) -> frozenset[str]:
    """Names used as ``${NAME:?...}`` or ``${NAME?...}``: values the operator must provide."""
    return frozenset(
        match.group("braced")
        for text in _strings(compose)
        for match in _INTERPOLATION.finditer(text)
        if match.group("op") in ("?", ":?")
    )


@pytest.fixture(scope="session")
def compose_secrets(compose_required_variables: frozenset[str]) -> dict[str, str]:
    """A generated value for every variable the compose file requires from ``.env``."""
    return {name: secrets.token_hex(24) for name in compose_required_variables}


def _environment_mapping(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


@pytest.fixture(scope="session")
def compose_env(
    compose: dict[str, Any], compose_secrets: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Per compose service, its environment after interpolation with ``compose_secrets``."""
    return {
        name: {
            key: interpolate(value, compose_secrets)
            for key, value in _environment_mapping(service.get("environment")).items()
        }
        for name, service in compose["services"].items()
    }


def _renderer() -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def example_secret_values(example: Path) -> dict[str, str]:
    """The keys of a ``secrets.env.example`` with generated values, ``<placeholders>`` filled in."""
    values: dict[str, str] = {}
    for line in example.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, template = line.partition("=")
        values[key.strip()] = (
            _EXAMPLE_PLACEHOLDER.sub(lambda _: secrets.token_hex(12), template)
            if template
            else secrets.token_hex(24)
        )
    return values


@pytest.fixture(scope="session")
def rendered_overlays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Each overlay rendered by kustomize, from a copy whose secrets.env comes from the example."""
    command = _renderer()
    if command is None:
        pytest.skip(
            "no kustomize renderer: install kubectl (or kustomize) to render deploy/k8s overlays"
        )
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(REPO / "deploy" / "k8s", copy, ignore=shutil.ignore_patterns("secrets.env"))
    rendered: dict[str, list[dict[str, Any]]] = {}
    for overlay in OVERLAYS:
        directory = copy / "overlays" / overlay
        values = example_secret_values(directory / "secrets.env.example")
        (directory / "secrets.env").write_text(
            "".join(f"{key}={value}\n" for key, value in values.items())
        )
        result = subprocess.run(
            [*command, str(directory)], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"kustomize failed for {overlay}:\n{result.stderr}"
        rendered[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return rendered


def _container_env(
    container: dict[str, Any], objects: dict[tuple[str, str], dict[str, Any]]
) -> dict[str, str]:
    """A container's effective environment: envFrom sources first, then ``env`` entries."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        kind, ref = (
            ("ConfigMap", source["configMapRef"])
            if "configMapRef" in source
            else (
                "Secret",
                source["secretRef"],
            )
        )
        obj = objects.get((kind, ref["name"]))
        assert obj is not None, f"envFrom refers to a missing {kind} {ref['name']}"
        env.update(_object_data(obj))
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
            continue
        ref_kind, ref = (
            ("Secret", entry["valueFrom"]["secretKeyRef"])
            if "secretKeyRef" in entry.get("valueFrom", {})
            else ("ConfigMap", entry["valueFrom"]["configMapKeyRef"])
        )
        obj = objects.get((ref_kind, ref["name"]))
        assert obj is not None, f"{entry['name']} refers to a missing {ref_kind} {ref['name']}"
        data = _object_data(obj)
        assert ref["key"] in data, f"{entry['name']}: {ref_kind} {ref['name']} has no {ref['key']}"
        env[entry["name"]] = data[ref["key"]]
    return env


def _object_data(obj: dict[str, Any]) -> dict[str, str]:
    if obj["kind"] == "Secret":
        return {key: base64.b64decode(value).decode() for key, value in obj.get("data", {}).items()}
    return {key: str(value) for key, value in obj.get("data", {}).items()}


@pytest.fixture(scope="session")
def k8s_env(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> dict[str, dict[str, dict[str, str]]]:
    """Per overlay, per Ragline Deployment, the environment its container will see."""
    result: dict[str, dict[str, dict[str, str]]] = {}
    for overlay, docs in rendered_overlays.items():
        objects = {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}
        result[overlay] = {
            doc["metadata"]["name"]: _container_env(
                doc["spec"]["template"]["spec"]["containers"][0], objects
            )
            for doc in docs
            if doc["kind"] == "Deployment" and doc["metadata"]["name"] in SERVICES
        }
    return result
