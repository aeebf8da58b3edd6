"""Remember that an exported model passed its reference check, so later starts need not repeat it.

The reference check (:mod:`.reference`) embeds the fixed sample, 11 texts padded to 256 tokens:
1-2 s of every start on two cores, the largest single step of a cold start (issue 15). What it
proves holds as long as nothing that shapes the vectors has changed, so it runs once per cache
entry, "before first use": the export command (``make install``, the image build, the child
process a first start runs) checks each file and writes a stamp beside it recording what was
checked. Serving processes only read stamps; without a matching one they check at every start,
as before, and never write into the cache (an image's is read-only). The stamp holds:

- the sha256 of the model file's bytes. The runtime hashes, at every start, the very bytes it
  hands to onnxruntime (about 0.1 s for the int8 file), so a file changed or damaged after its
  check is caught at the next start, whatever its size or modification time say;
- the tokenizer, pooling and config files are not in the stamp: they are part of the export
  directory's name (:func:`.cache.source_fingerprint`, recomputed at every start);
- what runs the file: the onnxruntime, tokenizers and numpy versions, the bytes of our encoding
  code, and the machine (architecture and CPU flags: int8 kernels differ by instruction set).
  A library upgrade, a code change or a cache directory copied to another machine is checked
  again;
- the lowest cosine the check measured, so a stricter threshold checks again too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from ragline_common.adapters.embedder import model_dir
from ragline_common.adapters.embedder.onnx import encoder, pooling
from ragline_common.adapters.embedder.onnx.reference import Agreement

STAMP_SUFFIX = ".verified.json"
_STAMP_VERSION = 1
_CODE_MODULES = (encoder, pooling, model_dir)
"""The modules whose code turns the file's outputs into vectors: editing one checks again."""


def model_digest(model_bytes: bytes) -> str:
    return hashlib.sha256(model_bytes).hexdigest()


def stamp_path(model_file: Path) -> Path:
    return model_file.with_name(model_file.name + STAMP_SUFFIX)


@cache
def runtime_identity() -> dict[str, str]:
    """What, besides the file, decides the vectors: libraries, our code, the CPU (per process)."""
    import numpy
    import onnxruntime
    import tokenizers

    code = hashlib.sha256()
    for module in _CODE_MODULES:
        code.update(Path(str(module.__file__)).read_bytes())
    return {
        "onnxruntime": onnxruntime.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": numpy.__version__,
        "code": code.hexdigest(),
        "machine": _machine(),
    }


def is_verified(model_file: Path, digest: str, threshold: float) -> bool:
    """Whether a stamp says these bytes, run by this runtime, passed at ``threshold`` or better."""
    try:
        stamp: Any = json.loads(stamp_path(model_file).read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("version") == _STAMP_VERSION
        and stamp.get("model_sha256") == digest
        and stamp.get("runtime") == runtime_identity()
        and isinstance(stamp.get("cosine_min"), float)
        and stamp["cosine_min"] >= threshold
    )


def record_verified(model_file: Path, digest: str, agreement: Agreement) -> bool:
    """Write the stamp (atomically: readers see a whole one or none); False if it cannot be."""
    stamp = {
        "version": _STAMP_VERSION,
        "model_sha256": digest,
        "runtime": runtime_identity(),
        "cosine_min": agreement.cosine_min,
        "cosine_mean": agreement.cosine_mean,
    }
    target = stamp_path(model_file)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError:
        return False
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(stamp, out, indent=2)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; other users read the cache too
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def _machine() -> str:
    """The architecture and a digest of the CPU's feature flags (Linux), or the processor name."""
    flags = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            # "flags" on x86, "Features" on arm64.
            if line.startswith(("flags", "Features")):
                flags = " ".join(sorted(line.partition(":")[2].split()))
                break
    detail = flags or platform.processor()
    return f"{platform.machine()} {hashlib.sha256(detail.encode()).hexdigest()[:16]}"
