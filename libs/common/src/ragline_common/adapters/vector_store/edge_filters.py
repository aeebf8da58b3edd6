"""Port conditions -> Qdrant Edge filters, always scoped to one tenant.

Every filter the Edge adapter sends is built here, and :func:`tenant_scope` cannot build one
without a tenant: isolation does not depend on each call site remembering it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import qdrant_edge as edge

from ragline_common.adapters.vector_store.schema import (
    DOCUMENT_FIELD,
    TENANT_FIELD,
    VERSION_FIELD,
    match_any_values,
    metadata_path,
)
from ragline_common.ports.vector_store import (
    MatchAny,
    MatchDatetimeRange,
    MatchRange,
    MatchValue,
    MetadataCondition,
)
from ragline_common.tenancy import TenantId


def tenant_scope(
    tenant_id: TenantId,
    *,
    document_id: str | None = None,
    conditions: Sequence[MetadataCondition] = (),
    older_than: int | None = None,
    point_ids: Collection[str] = (),
) -> edge.Filter:
    must: list[edge.ConditionType] = [
        edge.FieldCondition(TENANT_FIELD, match=edge.MatchValue(tenant_id))
    ]
    if document_id is not None:
        must.append(edge.FieldCondition(DOCUMENT_FIELD, match=edge.MatchValue(document_id)))
    if point_ids:
        must.append(edge.HasIdCondition(set(point_ids)))
    must.extend(_condition(condition) for condition in conditions)
    if older_than is not None:
        must.append(edge.FieldCondition(VERSION_FIELD, range=edge.RangeFloat(lt=older_than)))
    return edge.Filter(must=must)


def _condition(condition: MetadataCondition) -> edge.FieldCondition:
    path = metadata_path(condition.key)
    match condition:
        case MatchValue(value=bool() as flag):
            # qdrant-edge-py 0.9 reads a Python bool as the integer 0/1 (bool subclasses int),
            # so `True` would match `1` and never `true`; numpy's bool converts as a real bool.
            return edge.FieldCondition(path, match=edge.MatchValue(np.bool_(flag)))  # type: ignore[arg-type]
        case MatchValue(value=value):
            return edge.FieldCondition(path, match=edge.MatchValue(value))
        case MatchAny(values=values):
            return edge.FieldCondition(path, match=edge.MatchAny(match_any_values(values)))
        case MatchRange(gt=gt, gte=gte, lt=lt, lte=lte):
            return edge.FieldCondition(path, range=edge.RangeFloat(gte=gte, gt=gt, lte=lte, lt=lt))
        case MatchDatetimeRange(gt=gt, gte=gte, lt=lt, lte=lte):
            bounds = {"gt": gt, "gte": gte, "lt": lt, "lte": lte}
            iso = {name: value.isoformat() for name, value in bounds.items() if value is not None}
            return edge.FieldCondition(path, range=edge.RangeDateTime(**iso))
