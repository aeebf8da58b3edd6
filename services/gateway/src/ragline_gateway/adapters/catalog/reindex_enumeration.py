"""Starting a reindex: whether the spec may be built, and enumerating the live document
versions it re-embeds, one page per transaction.

A reindex enqueues one task per live version of every tenant. Doing that in one write
transaction held the catalog's write lock for the whole enumeration (on SQLite, every upload
waited for it on a large catalog), so :class:`~.index_models.SqlIndexModels` pages it: each page
is a short transaction of at most :data:`PAGE` documents, walked in ``(tenant_id, id)`` order
with a keyset, so every document present throughout is visited exactly once.

Why nothing is lost or counted twice while uploads and deletes go on between pages (ADR 0018):

* The index is ``building`` before the first page is read, and dispatch reads the write targets
  afresh after recording a version, so a version recorded after the start also goes to the new
  index through its own upload. A page that still meets it enqueues a task too: writing a
  version twice is idempotent (point ids are derived from tenant, document, version and chunk)
  and an older one is refused as superseded, which counts as done; the task is counted once in
  ``total``, as every task is.
* A document deleted before its page is read is skipped (``deleted_at``); one deleted after is
  a task whose document is gone, settled as done at dispatch. Either way one count or none.
* Until the last page is in, ``total`` carries one extra placeholder count, so settling every
  task enqueued so far cannot complete the index and switch reads early; the closing
  transaction removes it and switches if everything is already done.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.errors import Conflict
from ragline_common.ids import new_id
from ragline_common.indexing.model_spec import ModelSpec
from ragline_gateway.adapters.catalog.connections import UNFINISHED
from ragline_gateway.adapters.catalog.tables import documents, index_models, jobs, reindex_tasks

PAGE = 500
"""Documents read and enqueued per transaction (each is one or two versions)."""

PLACEHOLDER = 1
"""The count ``total`` holds for the enumeration itself until its last page is in."""

Position = tuple[str, str]
"""The last ``(tenant_id, document id)`` enqueued: the keyset the next page starts after."""


async def enqueue_page(
    connection: AsyncConnection,
    spec: str,
    *,
    created: datetime,
    after: Position | None,
    page: int | None = None,
) -> tuple[int, Position | None]:
    """Enqueue the live versions of the next ``page`` documents after ``after``.

    Returns the tasks enqueued and where the next page starts (None: this was the last).
    ``page`` defaults to :data:`PAGE`, read at each call.
    A live version is a non-deleted document's indexed version, plus its newest one when that
    one's job is unfinished (it would become the indexed one meanwhile).
    """
    limit = PAGE if page is None else page
    latest_job = (jobs.c.document_id == documents.c.id) & (jobs.c.version == documents.c.version)
    query = (
        select(
            documents.c.id,
            documents.c.tenant_id,
            documents.c.version,
            documents.c.indexed_version,
            jobs.c.status,
        )
        .select_from(documents.outerjoin(jobs, latest_job))
        .where(documents.c.deleted_at.is_(None))
        .order_by(documents.c.tenant_id, documents.c.id)
        .limit(limit)
    )
    if after is not None:
        tenant_id, document_id = after
        # A row value: both backends walk the (tenant_id, id) index from there.
        query = query.where(
            tuple_(documents.c.tenant_id, documents.c.id) > (tenant_id, document_id)
        )
    rows = (await connection.execute(query)).all()
    tasks: list[dict[str, object]] = []
    for row in rows:
        versions = [] if row.indexed_version is None else [row.indexed_version]
        if row.version != row.indexed_version and row.status in UNFINISHED:
            versions.append(row.version)
        tasks.extend(
            {
                "id": new_id("rix"),
                "spec": spec,
                "tenant_id": row.tenant_id,
                "document_id": row.id,
                "version": version,
                "state": "queued",
                "reason": None,
                # One time for the whole reindex: dispatch orders a tenant's tasks by it.
                "created_at": created,
            }
            for version in versions
        )
    if tasks:
        await connection.execute(insert(reindex_tasks), tasks)
    following = (rows[-1].tenant_id, rows[-1].id) if len(rows) == limit else None
    return len(tasks), following


async def refuse_shared_collection(connection: AsyncConnection, spec: str) -> None:
    """409 ``index_model_same_collection`` when ``spec`` would write the collection of an
    index kept for reads (``torch`` while ``onnx-int8`` is active): it is that index already,
    and dropping either would delete both."""
    wanted = ModelSpec.parse(spec)
    kept = await connection.execute(
        select(index_models.c.spec, index_models.c.state).where(
            index_models.c.state.in_(("active", "previous")), index_models.c.spec != spec
        )
    )
    for row in kept:
        if wanted.shares_collection_with(ModelSpec.parse(row.spec)):
            hint = "" if row.state == "active" else f"; activate {row.spec} instead"
            raise Conflict(
                f"{spec} writes the same collection as the {row.state} index {row.spec}{hint}.",
                code="index_model_same_collection",
            )
