"""The model indexes an ingestion job writes, by the names requests give them (issue 15).

A request names indexes by model spec (``index_models``, ``reindex_of``) or none at all (the
worker's default). :class:`IndexTargets` turns names into targets (an embedder as the pipeline
calls it, batching included, and a store) once per name and keeps them; a name that cannot be
an index is the job's permanent failure, a store that is down is left to the caller's retry.
A message naming an index dropped after it was sent skips that index rather than create it
again (``ragline_common.indexing.tombstones``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from ragline_common.errors import PermanentProcessingError
from ragline_common.indexing.indexes import DropAwareIndexes, Indexes
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

    async def of(
        self,
        names: Sequence[str],
        *,
        sent_at: datetime | None = None,
        rebuilds: str | None = None,
    ) -> list[IndexTarget]:
        """The indexes named (none: the default), each once even when named twice.

        With ``sent_at`` (the message's time) an index not open here and dropped for that
        message is left out: sent before the drop, or not the reindex task (``rebuilds``: the
        spec it rebuilds) that alone may create a dropped index again. The list may then be
        empty (a reindex task of a dropped index).
        """
        if not names:
            return [await self.get(_DEFAULT)]
        targets: list[IndexTarget] = []
        for name in names:
            target = await self._find(name, sent_at=sent_at, rebuilds=name == rebuilds)
            if target is not None and all(target.store is not seen.store for seen in targets):
                targets.append(target)
        return targets

    async def get(self, name: str) -> IndexTarget:
        """The index named, opened if need be (a reader's open: never refused)."""
        target = await self._find(name, sent_at=None, rebuilds=False)
        assert target is not None  # only a writer's open (with sent_at) is refused
        return target

    async def _find(
        self, name: str, *, sent_at: datetime | None, rebuilds: bool
    ) -> IndexTarget | None:
        target = self._by_name.get(name)
        if target is not None:
            return target  # open here, so not dropped since (a drop forgets every name of it)
        indexes = self._require_indexes(name)
        spec = None if name == _DEFAULT else parse_spec(name)
        try:
            if sent_at is None or not isinstance(indexes, DropAwareIndexes):
                index = await indexes.index(spec)
            else:
                found = await indexes.writable(spec, sent_at=sent_at, rebuilds=rebuilds)
                if found is None:
                    return None
                index = found
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

    async def drop(self, name: str, *, at: datetime | None = None) -> None:
        """Delete the index's data, leaving a tombstone dated ``at`` (the drop request's time);
        every name of it is forgotten, so a later job reopens it (if the tombstone lets it)."""
        spec = parse_spec(name)
        indexes = self._require_indexes(name)
        dropped = await indexes.index(spec)
        for known in [n for n, t in self._by_name.items() if t.store is dropped.store]:
            del self._by_name[known]
        if isinstance(indexes, DropAwareIndexes):
            await indexes.drop(spec, at=at)
        else:
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
