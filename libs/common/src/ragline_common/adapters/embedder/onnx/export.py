"""Export a sentence-transformers model to ONNX (fp32 and int8), once, with torch.

    python -m ragline_common.adapters.embedder.onnx.export [--model-path DIR] [--cache-dir DIR]

Runs in a process of its own (``make install``, or :func:`.cache.ensure_exported` on first use)
because it imports torch, which serving processes never do. It writes into the cache directory
of the model (see :mod:`.cache`):

- ``model-fp32.onnx``: the transformer, token vectors out, traced with torch's TorchScript
  exporter. transformers 5 models are called with keyword arguments only (a positional third
  argument lands in ``use_cache``), hence the small wrapper module.
- ``model-int8.onnx``: dynamic int8 quantisation of the weight matrices only, per output
  channel. Quantising every MatMul (the default) also quantises the attention products of two
  activations and costs quality (cosine to torch down to 0.87); weights only keeps it >= 0.99
  at the same speed (ADR 17).
- ``reference.json``: torch's vectors for the fixed sample (:mod:`.reference`).
- ``manifest.json``: what was exported, from where, with which recipe and versions.

Run as a command, it then checks both files against the reference sample with the runtime
that will serve them and stamps those that pass (:mod:`.verified`), so that starts skip the
sample; it is the only writer of stamps (``make install``, the image build, the child process
of a first start), as serving processes never write into the cache. A file that fails is
reported, and a service choosing it will refuse to start.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ragline_common.adapters.embedder.model_dir import (
    default_model_path,
    require_model_dir,
)
from ragline_common.adapters.embedder.onnx.cache import (
    FP32_FILE,
    INT8_FILE,
    OUTPUT_NAME,
    RECIPE_VERSION,
    export_dir,
    publish,
)
from ragline_common.adapters.embedder.onnx.reference import SAMPLE_TEXTS, write_reference
from ragline_common.settings import EmbedderSettings

MANIFEST_FILE = "manifest.json"
OPSET = 17


def export_model(model_path: Path, cache_root: Path) -> Path:
    """The export directory of ``model_path`` under ``cache_root``, made if missing."""
    require_model_dir(model_path)
    return publish(export_dir(model_path, cache_root), lambda target: _export(model_path, target))


def _export(model_path: Path, target: Path) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

    # Eager attention: the SDPA path exports with NaN guards (IsNaN/Where) around every
    # softmax that onnxruntime cannot fuse; eager exports plain MatMul/Softmax, ~25% faster.
    model = SentenceTransformer(
        str(model_path),
        device="cpu",
        local_files_only=True,
        model_kwargs={"attn_implementation": "eager"},
    )
    first_module: Any = model[0]
    transformer = first_module.auto_model.eval()
    inputs = _input_names(transformer)
    _export_fp32(torch, transformer, inputs, target / FP32_FILE)
    _quantize_int8(target / FP32_FILE, target / INT8_FILE)
    write_reference(target, model.encode(list(SAMPLE_TEXTS), convert_to_numpy=True).tolist())
    manifest = {
        "recipe": RECIPE_VERSION,
        "source": str(model_path),
        "inputs": inputs,
        "output": OUTPUT_NAME,
        "opset": OPSET,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))


def _input_names(transformer: Any) -> list[str]:
    """BERT-like models take token type ids; others (DistilBERT, say) refuse them."""
    import inspect

    parameters = inspect.signature(transformer.forward).parameters
    names = ["input_ids", "attention_mask"]
    return [*names, "token_type_ids"] if "token_type_ids" in parameters else names


def _export_fp32(torch: Any, transformer: Any, inputs: list[str], path: Path) -> None:
    class KeywordCall(torch.nn.Module):  # type: ignore[misc]
        """Calls the model with keywords: the exporter passes inputs positionally."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: Any) -> Any:
            named = dict(zip(inputs, tensors, strict=True))
            return self.transformer(**named).last_hidden_state

    example = torch.ones((2, 16), dtype=torch.long)
    arguments = tuple(
        torch.zeros_like(example) if name == "token_type_ids" else example for name in inputs
    )
    axes = {name: {0: "texts", 1: "tokens"} for name in [*inputs, OUTPUT_NAME]}
    with torch.inference_mode():
        torch.onnx.export(
            KeywordCall().eval(),
            arguments,
            str(path),
            input_names=inputs,
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _quantize_int8(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        extra_options={"MatMulConstBOnly": True},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = EmbedderSettings()
    model_path = args.model_path or settings.model_path or default_model_path()
    cache_root = args.cache_dir or settings.resolved_cache_dir()
    try:
        folder = export_model(model_path, cache_root)
    except ModuleNotFoundError as missing:
        print(
            f"exporting needs torch and onnx ({missing.name} is not installed): install "
            "ragline-common[torch] here, or export where it is and copy the cache directory",
            file=sys.stderr,
        )
        return 2
    _check_exports(model_path, cache_root, folder)
    print(folder)
    return 0


def _check_exports(model_path: Path, cache_root: Path, folder: Path) -> None:
    """Check and stamp each file that has no stamp matching its bytes and this runtime.

    A matching stamp costs a hash of the file, not a model load: ``make run`` runs this first.
    """
    import anyio

    from ragline_common.adapters.embedder.onnx.reference import EmbedderVerificationFailed
    from ragline_common.adapters.embedder.onnx.runtime import (
        MIN_COSINE,
        MODEL_FILES,
        OnnxEmbedder,
        Precision,
    )
    from ragline_common.adapters.embedder.onnx.verified import is_verified, model_digest

    settings = EmbedderSettings(model_path=model_path, cache_dir=cache_root)
    for precision in Precision:
        model_file = folder / MODEL_FILES[precision]
        digest = model_digest(model_file.read_bytes())
        if is_verified(model_file, digest, MIN_COSINE[precision]):
            continue
        try:
            anyio.run(OnnxEmbedder(settings, precision, stamp=True).warm_up)
        except EmbedderVerificationFailed as failed:
            print(f"warning: {failed}", file=sys.stderr)
            continue
        if not is_verified(model_file, digest, MIN_COSINE[precision]):
            print(
                f"warning: {model_file} passed its check but no stamp could be written "
                "beside it; every start will check it again",
                file=sys.stderr,
            )


if __name__ == "__main__":
    sys.exit(main())
