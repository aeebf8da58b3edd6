"""Tenant and API-key management (operator token, or a tenant's own admin key for its keys).

Limits and quotas are the operator's to set (``PATCH``); a tenant's admin key may read them.
Every change to keys or tenants is forgotten at once by this replica's key cache; other
replicas notice within the cache's TTL (at most one second, ADR 0012).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Response

from ragline_common.errors import NotFound
from ragline_common.tenancy import TenantId
from ragline_gateway.api.schemas import KeyCreate, KeyCreated, KeyOut, TenantCreate
from ragline_gateway.api.tenant_schemas import KeyRotate, TenantDetail, TenantPatch
from ragline_gateway.context import GatewayContext
from ragline_gateway.deps import ContextDep, OperatorDep, PathId, TenantAdminDep
from ragline_gateway.domain import api_keys
from ragline_gateway.domain.limits import EffectiveLimits
from ragline_gateway.domain.tenant_erasure import erase_tenant
from ragline_gateway.ports.catalog import TenantRecord

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


async def _detail(context: GatewayContext, tenant: TenantRecord) -> TenantDetail:
    overrides = await context.catalog.get_tenant_limits(tenant.id)
    if overrides is None:
        raise NotFound("No such tenant.", code="tenant_not_found")
    return TenantDetail.build(tenant, EffectiveLimits.of(overrides, context.settings))


async def _tenant(context: GatewayContext, tenant_id: str) -> TenantRecord:
    tenant = await context.catalog.get_tenant(TenantId(tenant_id))
    if tenant is None:
        raise NotFound("No such tenant.", code="tenant_not_found")
    return tenant


@router.post("", status_code=201, response_model=TenantDetail, summary="Create a tenant")
async def create_tenant(body: TenantCreate, context: ContextDep, _op: OperatorDep) -> TenantDetail:
    return await _detail(context, await context.catalog.create_tenant(body.name))


@router.get("", response_model=list[TenantDetail], summary="List tenants")
async def list_tenants(context: ContextDep, _op: OperatorDep) -> list[TenantDetail]:
    return [await _detail(context, t) for t in await context.catalog.list_tenants()]


@router.get("/{tenant_id}", response_model=TenantDetail, summary="One tenant")
async def get_tenant(
    tenant_id: PathId, context: ContextDep, _admin: TenantAdminDep
) -> TenantDetail:
    return await _detail(context, await _tenant(context, tenant_id))


@router.patch(
    "/{tenant_id}", response_model=TenantDetail, summary="Change a tenant's limits and quotas"
)
async def update_tenant(
    tenant_id: PathId, body: TenantPatch, context: ContextDep, _op: OperatorDep
) -> TenantDetail:
    tenant = await _tenant(context, tenant_id)
    current = await context.catalog.get_tenant_limits(tenant.id)
    if current is None or not await context.catalog.set_tenant_limits(
        tenant.id, body.apply(current)
    ):
        raise NotFound("No such tenant.", code="tenant_not_found")
    context.keys.forget_tenant(tenant.id)
    return await _detail(context, tenant)


@router.delete(
    "/{tenant_id}",
    status_code=204,
    summary="Erase a tenant: documents, chunks, stored contents, keys, usage",
    responses={404: {"description": "No such tenant"}},
)
async def delete_tenant(tenant_id: PathId, context: ContextDep, _op: OperatorDep) -> Response:
    erased = await erase_tenant(
        context.catalog,
        context.broker,
        context.keys,
        TenantId(tenant_id),
        index_models=await context.indexes.kept(),
    )
    if not erased:
        raise NotFound("No such tenant.", code="tenant_not_found")
    return Response(status_code=204)


@router.post(
    "/{tenant_id}/keys", status_code=201, response_model=KeyCreated, summary="Create an API key"
)
async def create_key(
    tenant_id: PathId, body: KeyCreate, context: ContextDep, _admin: TenantAdminDep
) -> KeyCreated:
    tenant = await _tenant(context, tenant_id)
    secret = api_keys.generate_key()
    record = await context.catalog.create_api_key(
        tenant.id,
        name=body.name,
        prefix=api_keys.display_prefix(secret),
        key_hash=api_keys.hash_key(secret, context.key_pepper),
        scopes=frozenset(body.scopes),
        expires_at=body.expires_at,
    )
    return KeyCreated(**KeyOut.of(record).model_dump(), key=secret)


@router.get("/{tenant_id}/keys", response_model=list[KeyOut], summary="List a tenant's keys")
async def list_keys(tenant_id: PathId, context: ContextDep, _admin: TenantAdminDep) -> list[KeyOut]:
    tenant = await _tenant(context, tenant_id)
    return [KeyOut.of(k) for k in await context.catalog.list_api_keys(tenant.id)]


@router.post(
    "/{tenant_id}/keys/{key_id}/rotate",
    status_code=201,
    response_model=KeyCreated,
    summary="Replace a key; the old one keeps working for a grace period",
)
async def rotate_key(
    tenant_id: PathId, key_id: PathId, body: KeyRotate, context: ContextDep, _admin: TenantAdminDep
) -> KeyCreated:
    tenant = await _tenant(context, tenant_id)
    old = next((k for k in await context.catalog.list_api_keys(tenant.id) if k.id == key_id), None)
    now = datetime.now(UTC)
    if old is None or old.revoked_at is not None or (old.expires_at and old.expires_at <= now):
        raise NotFound("No such active key.", code="key_not_found")
    grace = body.grace_period_s
    if grace is None:
        grace = context.settings.key_rotation_grace_s
    secret = api_keys.generate_key()
    new = await context.catalog.create_api_key(
        tenant.id,
        name=old.name,
        prefix=api_keys.display_prefix(secret),
        key_hash=api_keys.hash_key(secret, context.key_pepper),
        scopes=old.scopes,
        expires_at=old.expires_at,
    )
    await context.catalog.retire_api_key(
        tenant.id, old.id, replaced_by=new.id, expires_at=now + timedelta(seconds=grace)
    )
    context.keys.forget_tenant(tenant.id)
    return KeyCreated(**KeyOut.of(new).model_dump(), key=secret)


@router.delete("/{tenant_id}/keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_key(
    tenant_id: PathId, key_id: PathId, context: ContextDep, _admin: TenantAdminDep
) -> Response:
    if not await context.catalog.revoke_api_key(TenantId(tenant_id), key_id):
        raise NotFound("No such key.", code="key_not_found")
    context.keys.forget_tenant(TenantId(tenant_id))
    return Response(status_code=204)
