"""Where exported models live: one directory per source model and export recipe, made once.

The directory's name is a hash of every file of the source model that shapes its vectors
(weights, configs, tokenizer) and of :data:`RECIPE_VERSION`, so new weights or a changed export
get a new directory and a stale export is never picked up. A directory appears whole or not at
all: it is built under a temporary name and renamed into place, and a lock file makes a second
process wait for the first one's export instead of repeating it (a crash leaves only the
temporary directory, which the next export ignores).

The export needs torch, which no serving process may import (ADR 17), so a missing export is
made by a child process running :mod:`.export`; ``make install`` runs the same module ahead of
time so that starting a service never has to.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

RECIPE_VERSION = "2"
"""Bump when the export writes something different from the same source (opset, quantisation
options, reference sample): every cache entry is then rebuilt."""
FP32_FILE = "model-fp32.onnx"
INT8_FILE = "model-int8.onnx"
OUTPUT_NAME = "token_embeddings"
"""The files an export folder holds and the graph output the runtime reads: here, not in the
export, so serving never imports the module that drives torch."""

EXPORT_TIMEOUT_S = 900.0
"""About 20 s on an idle two-core machine; generous because a cold start may share the cores."""
_IGNORED_FILES = frozenset({"README.md", ".gitattributes"})
_HASH_CHUNK = 1 << 20


def source_fingerprint(model_path: Path) -> str:
    """A hash of the model's files (path and bytes) and of the export recipe."""
    digest = hashlib.sha256(f"recipe {RECIPE_VERSION}\n".encode())
    files = sorted(
        path for path in model_path.rglob("*") if path.is_file() and path.name not in _IGNORED_FILES
    )
    for path in files:
        digest.update(f"{path.relative_to(model_path).as_posix()}\n".encode())
        with path.open("rb") as content:
            while block := content.read(_HASH_CHUNK):
                digest.update(block)
    return digest.hexdigest()[:32]


def export_dir(model_path: Path, cache_root: Path) -> Path:
    return cache_root / source_fingerprint(model_path)


def publish(final: Path, build: Callable[[Path], None]) -> Path:
    """Make ``final`` with ``build`` (given an empty directory) unless it exists; return it."""
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(final.parent / f"{final.name}.lock"):
        if final.is_dir():
            # Another process exported while this one waited for the lock.
            return final
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            build(staging)
            # mkdtemp makes it private; an image's runtime user must read what the build made.
            staging.chmod(0o755)
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return final


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_exported(model_path: Path, cache_root: Path) -> Path:
    """The export directory of ``model_path``, exported first (in a child process) if missing."""
    final = export_dir(model_path, cache_root)
    if final.is_dir():
        return final
    command = [
        sys.executable,
        "-m",
        "ragline_common.adapters.embedder.onnx.export",
        "--model-path",
        str(model_path),
        "--cache-dir",
        str(cache_root),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run(  # noqa: S603 - our own module, run by this interpreter
        command, env=env, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S, check=False
    )
    if result.returncode != 0 or not final.is_dir():
        raise RuntimeError(
            f"exporting {model_path} to ONNX under {cache_root} failed "
            f"(exit status {result.returncode}): {result.stderr.strip()[-2000:]}"
        )
    return final
