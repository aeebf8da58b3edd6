"""Port conditions -> qdrant-client filters, always scoped to one tenant.

The twin of :mod:`edge_filters` for the server API: every filter the remote adapter sends is
built by :func:`tenant_scope`, which cannot build one without a tenant.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from qdrant_client import models

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
) -> models.Filter:
    must: list[models.Condition] = [
        models.FieldCondition(key=TENANT_FIELD, match=models.MatchValue(value=tenant_id))
    ]
    if document_id is not None:
        must.append(
            models.FieldCondition(key=DOCUMENT_FIELD, match=models.MatchValue(value=document_id))
        )
    if point_ids:
        must.append(models.HasIdCondition(has_id=list(point_ids)))
    must.extend(_condition(condition) for condition in conditions)
    if older_than is not None:
        must.append(models.FieldCondition(key=VERSION_FIELD, range=models.Range(lt=older_than)))
    return models.Filter(must=must)


def _condition(condition: MetadataCondition) -> models.FieldCondition:
    path = metadata_path(condition.key)
    match condition:
        case MatchValue(value=value):
            return models.FieldCondition(key=path, match=models.MatchValue(value=value))
        case MatchAny(values=values):
            return models.FieldCondition(
                key=path, match=models.MatchAny(any=match_any_values(values))
            )
        case MatchRange(gt=gt, gte=gte, lt=lt, lte=lte):
            return models.FieldCondition(
                key=path, range=models.Range(gt=gt, gte=gte, lt=lt, lte=lte)
            )
        case MatchDatetimeRange(gt=gt, gte=gte, lt=lt, lte=lte):
            return models.FieldCondition(
                key=path, range=models.DatetimeRange(gt=gt, gte=gte, lt=lt, lte=lte)
            )
