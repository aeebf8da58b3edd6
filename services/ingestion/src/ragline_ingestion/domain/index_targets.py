"""The model indexes an ingestion job writes, by the names requests give them (issue 15).

A request names indexes by model spec (``index_models``, ``reindex_of``) or none at all (the
worker's default). :class:`IndexTargets` turns names into targets (an embedder as the pipeline
calls it, batching included, and a store) once per name and keeps them; a name that cannot be
an index is the job's permanent failure, a store that is down is left to the caller's retry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from ragline_common.errors import PermanentProcessingError
from ragline_common.indexing.indexes import Indexes
from ragline_common.indexing.model_spec import ModelSpec, UnknownIndexModel
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore

_log = structlog.get_logger(__name__)

_DEFAULT = ""
"""The cache's name for the worker's default index (requests that name none)."""


@dataclass(frozen=True)
class IndexTarget:
    """One index a job writes: its embedder (as the pipeline calls it) and its store."""

    embedder: Embedder
    store: VectorStore


class IndexTargets:
    """Targets by name; the default is given, the others open through ``indexes``.

    ``wrap`` is applied to each opened index's embedder as the component applied it to the
    default's (the batcher). Without ``indexes`` only the default exists.
    """

    def __init__(
        self,
        default: IndexTarget,
        indexes: Indexes | None = None,
        wrap: Callable[[Embedder], Embedder] | None = None,
    ) -> None:
        self._indexes = indexes
        self._wrap = wrap
        self._by_name: dict[str, IndexTarget] = {_DEFAULT: default}

    async def of(self, names: Sequence[str]) -> list[IndexTarget]:
        """The indexes named (none: the default), each once even when named twice."""
        if not names:
            return [await self.get(_DEFAULT)]
        targets: list[IndexTarget] = []
        for name in names:
            target = await self.get(name)
            if all(target.store is not seen.store for seen in targets):
                targets.append(target)
        return targets

    async def get(self, name: str) -> IndexTarget:
        target = self._by_name.get(name)
        if target is not None:
            return target
        indexes = self._require_indexes(name)
        spec = None if name == _DEFAULT else parse_spec(name)
        try:
            index = await indexes.index(spec)
        except (ConnectionError, TimeoutError):
            raise  # the store or a remote model is down: a retry may find it back
        except (OSError, ImportError, ValueError) as exc:
            # A model that is not there (a wrong MODEL path, a backend not installed) stays
            # missing on every retry: the job fails with a reason the operator can act on.
            _log.error("index_model_unavailable", index_model=name, error=str(exc))
            raise PermanentProcessingError(
                f"index model {name!r} cannot be opened ({type(exc).__name__})",
                code="index_model_unavailable",
            ) from exc
        # Another name of the same collection (the default spelled out, torch for onnx-int8)
        # shares its target, and so its batching.
        target = next((t for t in self._by_name.values() if t.store is index.store), None)
        if target is None:
            embedder = self._wrap(index.embedder) if self._wrap else index.embedder
            target = IndexTarget(embedder, index.store)
        self._by_name[name] = target
        return target

    async def drop(self, name: str) -> None:
        """Delete the index's data; every name of it is forgotten, so a later job reopens it."""
        spec = parse_spec(name)
        indexes = self._require_indexes(name)
        dropped = await indexes.index(spec)
        for known in [n for n, t in self._by_name.items() if t.store is dropped.store]:
            del self._by_name[known]
        await indexes.drop(spec)

    def _require_indexes(self, name: str) -> Indexes:
        if self._indexes is None:
            raise PermanentProcessingError(
                f"index model {name!r} is not held by this worker", code="index_model_unavailable"
            )
        return self._indexes


def parse_spec(text: str) -> ModelSpec:
    """A spec from a message; one that does not parse fails the message for good."""
    try:
        return ModelSpec.parse(text)
    except UnknownIndexModel as exc:
        raise PermanentProcessingError(str(exc), code="unknown_index_model") from exc
