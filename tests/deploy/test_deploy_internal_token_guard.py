"""Every deployed retrieval and generation passes the start-up guard on open internal routes.

They bind 0.0.0.0 (the images set ``RAGLINE_HOST``, Kubernetes too), so each must get the
internal token, or it would refuse to start. The guard itself decides, from the settings the
container's environment yields, so the deployments and the rule cannot drift apart.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ragline_common.http.internal_auth import (
    OpenInternalApiError,
    is_loopback_host,
    refuse_open_internal_api,
)
from ragline_common.settings import CoreSettings

REPO = Path(__file__).resolve().parents[2]
PEERS = ("retrieval", "generation")


def _image_host(service: str) -> str:
    dockerfile = (REPO / "Dockerfile").read_text()  # one file for every target
    found = re.search(r"\bRAGLINE_HOST=(\S+)", dockerfile)
    assert found, f"{service}: the image sets no RAGLINE_HOST"
    return found.group(1)


def _core_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> CoreSettings:
    for name in list(os.environ):
        if name.startswith("RAGLINE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CoreSettings(_env_file=None)


@pytest.mark.parametrize("service", PEERS)
def test_compose_peers_start(
    compose_env: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    env = {"RAGLINE_HOST": _image_host(service), **compose_env[service]}
    core = _core_settings(env, monkeypatch)
    assert not is_loopback_host(core.host), "the check below would prove nothing"
    refuse_open_internal_api(core, [service])


@pytest.mark.parametrize("service", PEERS)
def test_k8s_peers_start(
    k8s_env: dict[str, dict[str, dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    service: str,
) -> None:
    for overlay, services in k8s_env.items():
        core = _core_settings(
            {"RAGLINE_HOST": _image_host(service), **services[service]}, monkeypatch
        )
        assert not is_loopback_host(core.host), overlay
        refuse_open_internal_api(core, [service])


def test_the_guard_refuses_a_peer_without_its_token(
    compose_env: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the tests above: the same environment less the token must be refused."""
    env = {"RAGLINE_HOST": _image_host("retrieval"), **compose_env["retrieval"]}
    del env["RAGLINE_INTERNAL_TOKEN"]
    with pytest.raises(OpenInternalApiError):
        refuse_open_internal_api(_core_settings(env, monkeypatch), ["retrieval"])
