"""The embedding images' runtime without Docker: a venv holding ragline-common[embeddings] as
the Dockerfile installs it (sentence-transformers pruned, so no torch, transformers or onnx), an
export copied in as the image's ``COPY --from=export`` does, and a sentence embedded with kind
``onnx-int8`` by a fresh interpreter of that venv, which must not write to the export.

The venv is built offline from uv's wheel cache (``make install`` fills it), in seconds; the
test is skipped, saying so, when the cache lacks a wheel.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from ragline_common.adapters.embedder.model_dir import default_model_path
from ragline_common.adapters.embedder.onnx.cache import ensure_exported
from ragline_common.adapters.embedder.onnx.runtime import OnnxEmbedder, Precision
from ragline_common.settings import EmbedderSettings

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]
SENTENCE = "Ragline embeds this sentence without torch."
EXPORT_ONLY = ("torch", "transformers", "sentence_transformers", "onnx")
# What uv says when --offline meets a wheel its cache does not hold.
_CACHE_MISSES = ("there is no version of", "not found in the cache", "network connectivity")
PROBE = f"""
import asyncio, importlib.util, json, sys
from ragline_common.adapters.embedder.selection import local_embedder
from ragline_common.settings import EmbedderSettings

async def main() -> None:
    embedder = local_embedder(EmbedderSettings())
    await embedder.warm_up()
    vector = await embedder.embed_query(sys.argv[1])
    names = {EXPORT_ONLY!r}
    print(json.dumps({{
        "vector": vector,
        "imported": sorted({{m.split(".")[0] for m in sys.modules}} & set(names)),
        "installed": [name for name in names if importlib.util.find_spec(name)],
    }}))

asyncio.run(main())
"""


def _uv() -> str:
    local = REPO / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (make install bootstraps it into .tools/)")
    return found


def _uv_offline(argv: list[str], venv: Path) -> None:
    # UV_PYTHON (exported by the Makefile for `uv sync`) outranks VIRTUAL_ENV: left in, `uv pip`
    # would install into the interpreter it names instead of this venv.
    env = {key: value for key, value in os.environ.items() if key != "UV_PYTHON"}
    env |= {"UV_OFFLINE": "1", "VIRTUAL_ENV": str(venv)}
    result = subprocess.run(
        [_uv(), *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0 and any(miss in result.stderr.lower() for miss in _CACHE_MISSES):
        pytest.skip(f"uv's wheel cache lacks a runtime wheel (run make install): {result.stderr}")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv as the embedding images' builder stage installs it, for ragline-common alone."""
    root = tmp_path_factory.mktemp("runtime-venv")
    requirements = root / "requirements.txt"
    venv = root / "venv"
    _uv_offline(["venv", "--quiet", "--python", sys.executable, str(venv)], venv)
    _uv_offline(
        [
            "export",
            "--frozen",
            "--no-dev",
            "--package",
            "ragline-common",
            "--extra",
            "embeddings",
            "--prune",
            "sentence-transformers",
            "--no-emit-workspace",
            "--quiet",
            "-o",
            str(requirements),
        ],
        venv,
    )
    target = ["--python", str(venv / "bin" / "python")]
    _uv_offline(
        ["pip", "install", *target, "--no-deps", "--require-hashes", "-r", str(requirements)], venv
    )
    _uv_offline(["pip", "install", *target, "--no-deps", "./libs/common"], venv)
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def image_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export copied in as the image does: read-only, under the cache directory setting."""
    exported = ensure_exported(default_model_path(), EmbedderSettings().resolved_cache_dir())
    models = tmp_path_factory.mktemp("opt-ragline") / "models"
    shutil.copytree(exported, models / exported.name)
    for path in [models, *models.rglob("*")]:
        path.chmod(path.stat().st_mode & 0o555)
    return models


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        path.relative_to(root).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in [root, *root.rglob("*")]
    }


def test_a_venv_without_torch_embeds_from_a_copied_export(
    runtime_python: Path, image_models: Path, tmp_path: Path
) -> None:
    before = _snapshot(image_models)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "RAGLINE_EMBEDDER_KIND": "onnx-int8",
        "RAGLINE_EMBEDDER_CACHE_DIR": str(image_models),
    }
    result = subprocess.run(
        [str(runtime_python), "-c", PROBE, SENTENCE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["installed"] == [], f"the runtime venv holds {report['installed']}"
    assert report["imported"] == []
    # The export was found under the same hash, not made again (nor anything written beside it).
    assert _snapshot(image_models) == before

    reference = OnnxEmbedder(EmbedderSettings(cache_dir=image_models), Precision.INT8)
    anyio.run(reference.warm_up)
    expected = anyio.run(reference.embed_query, SENTENCE)
    vector = report["vector"]
    assert len(vector) == len(expected) == 384
    cosine = sum(a * b for a, b in zip(vector, expected, strict=True))
    assert math.isclose(cosine, 1.0, abs_tol=1e-5), cosine
