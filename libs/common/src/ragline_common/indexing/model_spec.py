"""Model specs: the names of embedding indexes (``KIND`` or ``KIND:MODEL``, issue 15).

A spec says which embedder writes and reads an index. ``KIND`` is one of the embedder kinds of
``RAGLINE_EMBEDDER_KIND``; ``MODEL`` optionally overrides the model (a local sentence-transformers
directory for the local kinds, the provider's model name for ``openai``). Every other embedder
setting (base URL, API key, dimension, batch sizes...) comes from the process's settings, so a
message or an operator request never carries a secret or a tuning knob.

Specs travel as strings (in messages, the catalog, the CLI); :meth:`ModelSpec.parse` and
``str()`` convert both ways, and ``str(ModelSpec.parse(s))`` is the canonical form of ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from ragline_common.settings import EmbedderKind, EmbedderSettings

_KINDS: frozenset[str] = frozenset(get_args(EmbedderKind))
_ALIASES: dict[str, EmbedderKind] = {"minilm": "torch"}
"""Deprecated kind names, normalised so one index has one spec."""
_LOCAL_KINDS: frozenset[str] = frozenset({"onnx-int8", "onnx", "torch"})


class UnknownIndexModel(ValueError):
    """A model spec that does not parse, or names an embedder kind Ragline does not have."""

    def __init__(self, spec: str) -> None:
        super().__init__(
            f"Unknown index model {spec!r}: expected KIND or KIND:MODEL with KIND one of "
            f"{', '.join(sorted(_KINDS - _ALIASES.keys()))} (hash takes no MODEL)."
        )
        self.spec = spec


@dataclass(frozen=True)
class ModelSpec:
    """One embedding model, as an index is named by it."""

    kind: EmbedderKind
    model: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Read ``KIND`` or ``KIND:MODEL`` (split at the first colon); raises
        :class:`UnknownIndexModel` on anything else."""
        kind_text, sep, model = text.strip().partition(":")
        kind_text = kind_text.strip()
        model = model.strip()
        if kind_text not in _KINDS or (sep and not model):
            raise UnknownIndexModel(text)
        kind = _ALIASES.get(kind_text, _as_kind(kind_text))
        if kind == "hash" and model:
            # The hash embedder has no model, only a dimension (a process setting).
            raise UnknownIndexModel(text)
        return cls(kind=kind, model=model or None)

    @classmethod
    def default(cls, settings: EmbedderSettings) -> ModelSpec:
        """The process's configured embedder: the index it uses when none is named.

        Only the kind: the configured model (``model_path``/``model``) is what
        :meth:`settings_for` keeps when a spec names no model, so it need not be spelled out.
        """
        return cls(kind=_ALIASES.get(settings.kind, settings.kind))

    def settings_for(self, base: EmbedderSettings) -> EmbedderSettings:
        """The embedder settings of this spec: ``base`` with the kind and model replaced."""
        update: dict[str, object] = {"kind": self.kind}
        if self.model is not None:
            if self.kind in _LOCAL_KINDS:
                update["model_path"] = Path(self.model)
            else:
                update["model"] = self.model
        return base.model_copy(update=update)

    def shares_collection_with(self, other: ModelSpec) -> bool:
        """Whether both specs write the same collection, known without opening either model.

        Every local backend (``onnx-int8``, ``onnx``, ``torch``) reports the one MiniLM model
        id and dimension whatever its MODEL directory (their vectors are interchangeable, see
        ``adapters/embedder/threaded.py``), so any two local specs share a collection. Other
        kinds share one only when they are the same spec: the hash dimension and a provider's
        model come from the process settings, the same for both.
        """
        if self.kind in _LOCAL_KINDS and other.kind in _LOCAL_KINDS:
            return True
        return self == other

    def __str__(self) -> str:
        return self.kind if self.model is None else f"{self.kind}:{self.model}"


def _as_kind(text: str) -> EmbedderKind:
    for kind in get_args(EmbedderKind):
        if kind == text:
            return kind  # type: ignore[no-any-return]
    raise UnknownIndexModel(text)
