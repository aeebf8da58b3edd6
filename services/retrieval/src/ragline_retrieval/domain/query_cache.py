"""LRU cache of query embeddings.

Users repeat queries (retries, pagination, dashboards), and embedding is the expensive step of a
search. Entries are keyed by tenant as well as index, model and text: a cache shared across
tenants would let one tenant learn from response timing whether another tenant asked a given
question, and one shared across indexes would answer a query of one model with another's
vector (issue 15: while a reindex switches models, both are searched).
"""

from __future__ import annotations

from collections import OrderedDict

from ragline_common.tenancy import TenantId

CacheKey = tuple[TenantId, str, str, str]
"""(tenant_id, index model spec, model_id, query text)."""


class QueryEmbeddingCache:
    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[CacheKey, tuple[float, ...]] = OrderedDict()

    def get(self, key: CacheKey) -> tuple[float, ...] | None:
        vector = self._entries.get(key)
        if vector is not None:
            self._entries.move_to_end(key)
        return vector

    def put(self, key: CacheKey, vector: tuple[float, ...]) -> None:
        if self._max_entries == 0:
            return
        self._entries[key] = vector
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
