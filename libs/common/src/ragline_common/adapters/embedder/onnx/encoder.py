"""One ONNX model and its tokenizer: texts in, pooled vectors out, synchronously.

This is the bare encode, with no event loop or batching around it (:mod:`.runtime` adds those);
the benchmark times it as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragline_common.adapters.embedder.model_dir import SentenceModelConfig
from ragline_common.adapters.embedder.onnx.cache import OUTPUT_NAME
from ragline_common.adapters.embedder.onnx.pooling import FloatArray, normalize, pool


class OnnxSentenceEncoder:
    def __init__(
        self, session: Any, tokenizer: Any, counter: Any, config: SentenceModelConfig
    ) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._counter = counter
        self._config = config
        self._inputs = [node.name for node in session.get_inputs()]

    @classmethod
    def open(
        cls,
        onnx_model: Path | bytes,
        model_path: Path,
        config: SentenceModelConfig,
        *,
        threads: int,
    ) -> OnnxSentenceEncoder:
        """``onnx_model`` is the file or its bytes (already read, say to be hashed);
        ``threads`` is onnxruntime's intra-op pool, the calling thread included."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads that spin steal the cores the event loop and the parsers need
        # (the same reason the torch backend sets OMP_WAIT_POLICY=PASSIVE).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(
            onnx_model if isinstance(onnx_model, bytes) else str(onnx_model),
            options,
            providers=["CPUExecutionProvider"],
        )
        tokenizer, counter = sentence_tokenizers(model_path, config)
        return cls(session, tokenizer, counter, config)

    @property
    def dimension(self) -> int:
        return self._config.dimension

    def encode(self, texts: Sequence[str], run_options: Any = None) -> FloatArray:
        """Vectors of ``texts`` (one batch, padded to its longest text), shape (texts, dim)."""
        if not texts:
            return np.zeros((0, self._config.dimension), dtype=np.float32)
        if self._config.do_lower_case:
            texts = [text.lower() for text in texts]
        encodings = self._tokenizer.encode_batch(list(texts))
        columns = {
            "input_ids": [encoding.ids for encoding in encodings],
            "attention_mask": [encoding.attention_mask for encoding in encodings],
            "token_type_ids": [encoding.type_ids for encoding in encodings],
        }
        feeds = {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}
        (token_vectors,) = self._session.run([OUTPUT_NAME], feeds, run_options)
        vectors = pool(token_vectors, feeds["attention_mask"], self._config.pooling)
        return normalize(vectors) if self._config.normalize else vectors

    def release_memory(self) -> None:
        """Give back the CPU arena that large batches grew, keeping what one short text needs.

        onnxruntime keeps every tensor's memory in an arena sized by the largest run (about
        250 MiB for 16 texts of 256 tokens, most of it attention scores) and reuses it, which
        is what makes back-to-back batches fast. Arena shrinkage frees the regions that are
        unused at the end of a run; after a run of one empty text that is all of them. Run
        with it on every batch, it would give the memory back and fault it in again each time.
        """
        import onnxruntime

        options = onnxruntime.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.encode([""], options)

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` without special tokens or truncation (chunk sizes use it).

        A copy of the tokenizer that is never reconfigured: the Rust tokenizer refuses use
        from two threads while one of them changes its settings ("Already borrowed").
        """
        return len(self._counter.encode(text, add_special_tokens=False).ids)


def sentence_tokenizers(model_path: Path, config: SentenceModelConfig) -> tuple[Any, Any]:
    """The model's tokenizer set up as sentence-transformers uses it, and a plain copy."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    counter = Tokenizer.from_str(tokenizer.to_str())
    counter.no_truncation()
    counter.no_padding()
    tokenizer.enable_truncation(max_length=config.max_seq_length)
    pad_token = _pad_token(model_path)
    pad_id = tokenizer.token_to_id(pad_token) if pad_token else None
    if pad_token and pad_id is not None:
        tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    else:
        # Padding positions are masked out of attention and pooling; any id in range will do.
        tokenizer.enable_padding(pad_id=0)
    return tokenizer, counter


def _pad_token(model_path: Path) -> str | None:
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = model_path / name
        if path.is_file():
            token = json.loads(path.read_text()).get("pad_token")
            if isinstance(token, dict):
                token = token.get("content")
            if isinstance(token, str):
                return token
    return None
