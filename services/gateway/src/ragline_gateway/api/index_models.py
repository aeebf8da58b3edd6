"""Operator routes of reindexing (issue 15, ADR 0018): start, progress, switch, drop.

Operator token only, like tenant management: indexes are shared by every tenant. A spec is
``KIND`` or ``KIND:MODEL``; in a path it may hold slashes (a local model directory), hence the
``path`` converter. Refusals are problem+json with stable codes: 422 ``unknown_index_model``,
409 ``reindex_in_progress`` / ``index_model_active`` / ``index_model_dropped`` /
``index_model_same_collection`` (the spec writes a kept index's collection), 404
``index_model_not_found``. The rules are in :mod:`ragline_gateway.domain.reindex`.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ragline_common.errors import NotFound
from ragline_gateway.deps import ContextDep, OperatorDep
from ragline_gateway.ports.catalog import IndexModelRecord, IndexModelState

router = APIRouter(prefix="/v1/admin/index-models", tags=["admin"])


class ReindexStart(BaseModel):
    model: str = Field(min_length=1, max_length=200, description="KIND or KIND:MODEL")


class IndexModelOut(BaseModel):
    model: str
    state: IndexModelState
    created_at: datetime
    activated_at: datetime | None
    total: int
    done: int
    failed: int
    percent: float
    error: str | None

    @classmethod
    def of(cls, record: IndexModelRecord) -> IndexModelOut:
        return cls(
            model=record.spec,
            state=record.state,
            created_at=record.created_at,
            activated_at=record.activated_at,
            total=record.total,
            done=record.done,
            failed=record.failed,
            percent=record.percent,
            error=record.error,
        )


class IndexModelList(BaseModel):
    active: str
    index_models: list[IndexModelOut]


@router.get("", response_model=IndexModelList, summary="Embedding indexes and reindex progress")
async def list_index_models(context: ContextDep, _op: OperatorDep) -> IndexModelList:
    records = await context.indexes.list()
    active = next((r.spec for r in records if r.state == "active"), context.indexes.default_spec)
    return IndexModelList(active=active, index_models=[IndexModelOut.of(r) for r in records])


@router.post(
    "",
    status_code=202,
    response_model=IndexModelOut,
    summary="Re-embed every live document into a new model's index",
)
async def start_reindex(body: ReindexStart, context: ContextDep, _op: OperatorDep) -> IndexModelOut:
    record = await context.indexes.start(body.model)
    # The tasks wait in the catalog; the dispatcher sends them within each tenant's window.
    await context.dispatcher.dispatch_all()
    return IndexModelOut.of(record)


@router.get("/{spec:path}", response_model=IndexModelOut, summary="One index and its progress")
async def get_index_model(spec: str, context: ContextDep, _op: OperatorDep) -> IndexModelOut:
    record = await context.indexes.get(spec)
    if record is None:
        raise NotFound(f"No index for {spec}.", code="index_model_not_found")
    return IndexModelOut.of(record)


@router.post(
    "/{spec:path}/activate",
    response_model=IndexModelOut,
    summary="Switch reads to this index (a previous one, or a finished build)",
)
async def activate_index_model(spec: str, context: ContextDep, _op: OperatorDep) -> IndexModelOut:
    return IndexModelOut.of(await context.indexes.activate(spec))


@router.delete(
    "/{spec:path}",
    status_code=202,
    response_model=IndexModelOut,
    summary="Drop a non-active index (its collection is deleted by the worker)",
)
async def drop_index_model(spec: str, context: ContextDep, _op: OperatorDep) -> IndexModelOut:
    return IndexModelOut.of(await context.indexes.drop(spec))
