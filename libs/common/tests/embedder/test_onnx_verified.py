"""The stamp that lets a start skip the reference sample: what it must match, and how it is kept.

No model here (the stamp is about bytes and identities); test_onnx_embedder checks that a real
start honours it and that a file damaged after its check is still refused.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from ragline_common.adapters.embedder.onnx import verified
from ragline_common.adapters.embedder.onnx.reference import Agreement

PASSED = Agreement(cosine_min=0.991, cosine_mean=0.993)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model-int8.onnx"
    path.write_bytes(b"onnx weights")
    return path


def test_a_recorded_check_is_found_for_the_same_bytes(model_file: Path) -> None:
    digest = verified.model_digest(model_file.read_bytes())
    assert not verified.is_verified(model_file, digest, 0.98)
    assert verified.record_verified(model_file, digest, PASSED)
    assert verified.is_verified(model_file, digest, 0.98)


def test_other_bytes_are_not_verified_whatever_the_file_metadata_says(model_file: Path) -> None:
    digest = verified.model_digest(model_file.read_bytes())
    verified.record_verified(model_file, digest, PASSED)
    before = model_file.stat()
    model_file.write_bytes(b"onnx weighty")  # same size
    # Same size and modification time as when it was checked: only the bytes tell.
    os.utime(model_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not verified.is_verified(
        model_file, verified.model_digest(model_file.read_bytes()), 0.98
    )


def test_a_stricter_threshold_checks_again(model_file: Path) -> None:
    digest = verified.model_digest(model_file.read_bytes())
    verified.record_verified(model_file, digest, PASSED)
    assert not verified.is_verified(model_file, digest, 0.995)


def test_another_runtime_checks_again(model_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = verified.model_digest(model_file.read_bytes())
    verified.record_verified(model_file, digest, PASSED)
    identity = verified.runtime_identity()
    for part in ("onnxruntime", "tokenizers", "numpy", "code", "machine"):
        changed = {**identity, part: identity[part] + "-other"}
        monkeypatch.setattr(verified, "runtime_identity", lambda changed=changed: changed)
        assert not verified.is_verified(model_file, digest, 0.98), part


def test_the_runtime_identity_covers_the_encoding_code() -> None:
    identity = verified.runtime_identity()
    assert set(identity) == {"onnxruntime", "tokenizers", "numpy", "code", "machine"}
    assert len(identity["code"]) == 64
    assert {module.__name__.rsplit(".", 1)[-1] for module in verified._CODE_MODULES} == {
        "encoder",
        "pooling",
        "model_dir",
    }


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"version": 1}'])
def test_a_damaged_stamp_is_no_stamp(model_file: Path, content: str) -> None:
    verified.stamp_path(model_file).write_text(content)
    digest = verified.model_digest(model_file.read_bytes())
    assert not verified.is_verified(model_file, digest, 0.0)


def test_the_stamp_says_what_was_checked(model_file: Path) -> None:
    digest = verified.model_digest(model_file.read_bytes())
    verified.record_verified(model_file, digest, PASSED)
    stamp_file = verified.stamp_path(model_file)
    assert stamp_file.name == "model-int8.onnx.verified.json"
    assert stat.S_IMODE(stamp_file.stat().st_mode) == 0o644
    stamp = json.loads(stamp_file.read_text())
    assert stamp["model_sha256"] == digest
    assert stamp["cosine_min"] == PASSED.cosine_min
    assert sorted(path.name for path in model_file.parent.iterdir()) == [
        "model-int8.onnx",
        "model-int8.onnx.verified.json",
    ]


def test_a_read_only_cache_is_no_error(model_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    # A cache baked into an image, read by a user who may not write there (root may, so the
    # refusal is simulated where the stamp would be written).
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    digest = verified.model_digest(model_file.read_bytes())
    assert not verified.record_verified(model_file, digest, PASSED)
    assert not verified.is_verified(model_file, digest, 0.98)
    assert [path.name for path in model_file.parent.iterdir()] == ["model-int8.onnx"]


def test_a_stamp_that_cannot_be_finished_leaves_no_temporary_file(
    model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: object, target: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    digest = verified.model_digest(model_file.read_bytes())
    assert not verified.record_verified(model_file, digest, PASSED)
    assert [path.name for path in model_file.parent.iterdir()] == ["model-int8.onnx"]
