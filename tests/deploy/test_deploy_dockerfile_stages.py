"""The Dockerfile's shape, without a Docker engine: which stage each target's image is built from,
what it runs and as whom, hadolint's rules, and what the build context leaves out.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dockerfile_harness import (
    DOCKERFILE,
    EMBEDS,
    REPO,
    SERVICES,
    dockerfile_instructions,
    dockerfile_stages,
    global_build_args,
    run_shell,
    runs,
    runtime_image,
    stage_chain,
)


def test_stages_and_the_build_argument_that_picks_the_runtime() -> None:
    assert global_build_args()["TARGET"] in SERVICES
    stages = dockerfile_stages()
    runtimes = {f"runtime-{name}" for name in ("common", "embedder", *SERVICES)}
    assert set(stages) == {"uv-base", "export", "builder", "console", "runtime", *runtimes}
    assert list(stages)[-1] == "runtime"
    assert stages["runtime"][0] == "runtime-${TARGET}"
    assert stages["export"][0] == stages["builder"][0] == "uv-base"
    assert stages["runtime-embedder"][0] == "runtime-common"
    for service in SERVICES:
        parent = "runtime-embedder" if service in EMBEDS else "runtime-common"
        assert stages[f"runtime-{service}"][0] == parent


@pytest.mark.parametrize("service", SERVICES)
def test_multi_stage_build_on_python_311_slim(service: str) -> None:
    assert global_build_args()["PYTHON_IMAGE"] == "python:3.11-slim"
    for build_stage in ("builder", "export"):
        assert stage_chain(build_stage, service)[0] == "python:3.11-slim"
    base, runtime = runtime_image(service)
    assert base == "python:3.11-slim"
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime
    sources = {
        args.split()[0].removeprefix("--from=")
        for keyword, args in runtime
        if keyword == "COPY" and args.startswith("--from=")
    }
    expected = {"builder", "export"} if service in EMBEDS else {"builder"}
    assert sources == (expected | {"console"} if service == "gateway" else expected)


def test_the_gateway_serves_the_console_built_in_its_own_stage() -> None:
    """Node.js builds the console from the committed lock file; only its files reach the image."""
    stages = dockerfile_stages()
    assert stages["console"][0].startswith("node:20")
    build = [args for keyword, args in stages["console"][1] if keyword == "RUN"]
    assert build == ["npm ci --no-audit --no-fund", "npm run build"]
    _, runtime = runtime_image("gateway")
    assert ("COPY", "--from=console /console/dist /opt/ragline/console") in runtime
    # The variable's name is checked against the settings by test_deploy_settings_env.
    assert ("ENV", "RAGLINE_GATEWAY_CONSOLE_DIST=/opt/ragline/console") in runtime


def test_an_unknown_target_is_refused(tmp_path: Path) -> None:
    (check,) = runs("builder", "unknown TARGET")
    assert run_shell("builder", check, "bogus", tmp_path)[0] != 0
    for service in SERVICES:
        assert run_shell("builder", check, service, tmp_path)[0] == 0


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_runs_the_service_as_a_non_root_user(service: str) -> None:
    _, runtime = runtime_image(service)
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users, f"{service} runs as root"
    assert not users[-1].startswith(("0", "root")), users[-1]
    # Numeric, so Kubernetes can verify runAsNonRoot without resolving a name.
    assert re.fullmatch(r"\d+(:\d+)?", users[-1])
    cmd = [args for keyword, args in runtime if keyword == "CMD"][-1]
    assert cmd == f'["ragline", "run", "--target", "{service}"]'
    healthcheck = [args for keyword, args in runtime if keyword == "HEALTHCHECK"][-1]
    assert "/healthz" in healthcheck
    assert [args for keyword, args in runtime if keyword == "EXPOSE"] == ["8000"]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (test_hadolint_rules_that_apply_here stands in)")
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_hadolint_rules_that_apply_here() -> None:
    """Some of hadolint's checks, for machines without it: DL3025 (exec-form CMD), DL3042 (pip
    without its cache), DL3020 (COPY, not ADD); DL3002 (not root) is checked per target above."""
    instructions = dockerfile_instructions()
    assert all(keyword != "ADD" for keyword, _ in instructions)
    for keyword, args in instructions:
        if keyword == "CMD":
            assert isinstance(json.loads(args), list), args
        if keyword == "RUN":
            for pip in re.findall(r"(?<!uv )\bpip (?:install|download)[^&;]*", args):
                assert "--no-cache-dir" in pip, pip


def test_the_per_service_dockerfiles_are_gone() -> None:
    assert not list(REPO.glob("services/*/Dockerfile")), "Dockerfile is the only image definition"


def test_build_context_excludes_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".tools", ".ragline", ".env"):
        assert entry in ignored
