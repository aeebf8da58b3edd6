"""Operator routes: dead letters (list, replay, purge), scoped to one tenant for tenant admins.

A tenant's ``admin`` key sees and acts on its own dead letters only; the operator token sees
every tenant's and may narrow with ``tenant_id`` (and names the tenant of a letter it replays:
letter ids are unique per tenant only). Message bodies are never returned: they may hold
document text. What identifies the work (type, document and job ids) is shown instead, read
from bodies Ragline wrote itself only; an intake letter's body is its producer's.

A listing reads one window of the dead-letter queue (see ``Broker.list_dead_letters``), so its
cost is bounded however many letters are parked; the next listing shows the next window.
Replaying (and the job it reopens) is :mod:`ragline_gateway.domain.dead_letter_replay`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from ragline_common.errors import NotFound
from ragline_common.ports.broker import DeadLetter
from ragline_common.tenancy import Principal, TenantId
from ragline_common.topology import QueueName
from ragline_gateway.deps import AdminDep, ContextDep
from ragline_gateway.domain import dead_letter_replay

router = APIRouter(prefix="/v1/admin", tags=["admin"])
_MAX_LISTED = 500
_RAGLINE_WRITTEN = frozenset({QueueName.INGESTION, QueueName.JOB_EVENTS})
"""Queues only Ragline publishes to: the bodies of letters parked from them are its own."""


class DeadLetterOut(BaseModel):
    id: str
    queue: str
    routing_key: str
    tenant_id: str | None
    reason: str
    dead_lettered_at: datetime
    message_type: str | None
    document_id: str | None
    job_id: str | None

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterOut:
        fields: dict[str, object] = {}
        try:
            decoded = json.loads(letter.body) if letter.queue in _RAGLINE_WRITTEN else None
            if isinstance(decoded, dict):
                fields = decoded
        except (ValueError, UnicodeDecodeError):
            pass  # an undecodable body is often why it was parked

        def text(name: str) -> str | None:
            value = fields.get(name)
            return value if isinstance(value, str) else None

        return cls(
            id=letter.id,
            queue=letter.queue.value,
            routing_key=letter.routing_key,
            tenant_id=letter.tenant_id,
            reason=letter.reason,
            dead_lettered_at=letter.dead_lettered_at,
            message_type=text("type") or letter.headers.get("x-ragline-type"),
            document_id=text("document_id"),
            job_id=text("job_id"),
        )


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetterOut]


class PurgeResult(BaseModel):
    purged: int


def _scope(principal: Principal, requested: str | None) -> TenantId | None:
    """Which tenant's dead letters this caller may touch (None: every tenant's)."""
    if principal.is_operator:
        return TenantId(requested) if requested else None
    own = principal.require_tenant()
    if requested and requested != own:
        raise NotFound("No such tenant.", code="tenant_not_found")
    return own


TenantFilter = Annotated[str | None, Query(max_length=64, description="Operator only: one tenant")]


@router.get("/dead-letters", response_model=DeadLetterList, summary="List dead letters")
async def list_dead_letters(
    context: ContextDep,
    principal: AdminDep,
    tenant_id: TenantFilter = None,
    limit: Annotated[int, Query(ge=1, le=_MAX_LISTED)] = 100,
) -> DeadLetterList:
    letters = await context.broker.list_dead_letters(_scope(principal, tenant_id), limit)
    return DeadLetterList(dead_letters=[DeadLetterOut.of(letter) for letter in letters])


@router.post(
    "/dead-letters/{dead_letter_id}/replay",
    status_code=202,
    summary="Send a dead letter back to its queue",
)
async def replay_dead_letter(
    dead_letter_id: str,
    context: ContextDep,
    principal: AdminDep,
    tenant_id: Annotated[
        str | None, Query(max_length=64, description="Operator: the letter's tenant (required)")
    ] = None,
) -> Response:
    scope = _scope(principal, tenant_id)
    if scope is None:
        raise NotFound(
            "No such dead letter: name the letter's tenant with tenant_id.",
            code="dead_letter_not_found",
        )
    await dead_letter_replay.replay_dead_letter(
        context.broker, context.catalog, scope, dead_letter_id
    )
    return Response(status_code=202)


@router.delete("/dead-letters", response_model=PurgeResult, summary="Purge dead letters")
async def purge_dead_letters(
    context: ContextDep, principal: AdminDep, tenant_id: TenantFilter = None
) -> PurgeResult:
    return PurgeResult(purged=await context.broker.purge_dead_letters(_scope(principal, tenant_id)))
