"""How the Dockerfile tests read the one Dockerfile (``--build-arg TARGET=<service>``) without a
Docker engine, and run its ``uv`` commands against the real lock.

Each target is resolved the way BuildKit does: the global ``TARGET`` picks the final stage
(``FROM runtime-${TARGET}``), whose ``FROM`` chain gives the runtime instructions; a build
stage (``builder``, ``export``) is likewise the chain of stages it is ``FROM``. A stage's very
``uv`` commands run through ``sh`` with that ``TARGET`` and a recording stand-in for ``uv``; a
recorded ``uv export`` then runs against uv.lock to name the requirements it would install.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
SERVICES = ("gateway", "ingestion", "retrieval", "generation")
EMBEDS = {"ingestion", "retrieval"}
Instruction = tuple[str, str]


def dockerfile_instructions() -> list[Instruction]:
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


def global_build_args() -> dict[str, str]:
    """The ARGs before the first FROM: the only ones a FROM line can expand."""
    found: dict[str, str] = {}
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = args.partition("=")
            found[name] = default
    return found


def dockerfile_stages() -> dict[str, tuple[str, list[Instruction]]]:
    """Stage name -> (what it is FROM, its instructions after the FROM)."""
    stages: dict[str, tuple[str, list[Instruction]]] = {}
    current: list[Instruction] = []
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            current = []
            stages[name] = (base, current)
        elif stages:
            current.append((keyword, args))
    return stages


def expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def stage_chain(stage: str, target: str) -> tuple[str, list[Instruction]]:
    """The image ``stage`` starts from and its instructions in order, its parents' first."""
    stages = dockerfile_stages()
    values = {**global_build_args(), "TARGET": target}
    chain: list[Instruction] = []
    name = stage
    while name in stages:
        base, body = stages[name]
        chain[:0] = body
        name = expand(base, values)
    return name, chain


def runtime_image(target: str) -> tuple[str, list[Instruction]]:
    """The image's base and the runtime instructions, in order, when built with ``target``."""
    return stage_chain(list(dockerfile_stages())[-1], target)


def arg_values(stage: str, target: str) -> dict[str, str]:
    """The build arguments a stage's commands see: declared in its chain, global defaults kept."""
    global_args = {**global_build_args(), "TARGET": target}
    values: dict[str, str] = {}
    for keyword, args in stage_chain(stage, target)[1]:
        if keyword == "ARG":
            name, has_default, default = args.partition("=")
            values[name] = default if has_default else global_args.get(name, "")
    return values


def runtime_env(target: str) -> dict[str, str]:
    """The runtime image's ENV, with build arguments expanded as BuildKit does."""
    values = arg_values(list(dockerfile_stages())[-1], target)
    env: dict[str, str] = {}
    for keyword, args in runtime_image(target)[1]:
        if keyword == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                env[name] = expand(value, values)
    return env


def runs(stage: str, containing: str) -> list[str]:
    """RUN commands of ``stage``'s chain (a build stage: the same for every target)."""
    _, chain = stage_chain(stage, global_build_args()["TARGET"])
    return [args for keyword, args in chain if keyword == "RUN" and containing in args]


def run_shell(stage: str, command: str, target: str, tmp_path: Path) -> tuple[int, list[list[str]]]:
    """Run a RUN under ``sh`` as BuildKit would, with ``uv`` replaced by a recorder."""
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
        **arg_values(stage, target),
        "UV_LOG": str(log),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return result.returncode, calls


def uv_calls(stage: str, target: str, tmp_path: Path) -> list[list[str]]:
    calls: list[list[str]] = []
    for command in runs(stage, "uv "):
        if "uv==" in command:  # installing uv itself
            continue
        returncode, recorded = run_shell(stage, command, target, tmp_path)
        assert returncode == 0, command
        calls += recorded
    return calls


def resolve_export(export: list[str]) -> set[str]:
    """The names of the packages a recorded ``uv export`` writes, resolved from uv.lock."""
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
    return {
        re.split(r"[=<>;\s]", line, maxsplit=1)[0].lower()
        for line in result.stdout.splitlines()
        if line and not line.startswith(("#", " "))
    }


def export_call(stage: str, target: str, tmp_path: Path) -> list[str]:
    return next(call for call in uv_calls(stage, target, tmp_path) if call[0] == "export")
