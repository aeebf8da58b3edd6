"""Tenant and API-key management (operator token, or a tenant's own admin key for its keys)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ragline_common.errors import NotFound
from ragline_common.tenancy import TenantId
from ragline_gateway.api.schemas import KeyCreate, KeyCreated, KeyOut, TenantCreate, TenantOut
from ragline_gateway.deps import ContextDep, OperatorDep, TenantAdminDep
from ragline_gateway.domain import api_keys

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


@router.post("", status_code=201, response_model=TenantOut, summary="Create a tenant")
async def create_tenant(body: TenantCreate, context: ContextDep, _op: OperatorDep) -> TenantOut:
    return TenantOut.of(await context.catalog.create_tenant(body.name))


@router.get("", response_model=list[TenantOut], summary="List tenants")
async def list_tenants(context: ContextDep, _op: OperatorDep) -> list[TenantOut]:
    return [TenantOut.of(t) for t in await context.catalog.list_tenants()]


@router.get("/{tenant_id}", response_model=TenantOut, summary="One tenant")
async def get_tenant(tenant_id: str, context: ContextDep, _admin: TenantAdminDep) -> TenantOut:
    tenant = await context.catalog.get_tenant(TenantId(tenant_id))
    if tenant is None:
        raise NotFound("No such tenant.", code="tenant_not_found")
    return TenantOut.of(tenant)


@router.post(
    "/{tenant_id}/keys", status_code=201, response_model=KeyCreated, summary="Create an API key"
)
async def create_key(
    tenant_id: str, body: KeyCreate, context: ContextDep, _admin: TenantAdminDep
) -> KeyCreated:
    tenant = await context.catalog.get_tenant(TenantId(tenant_id))
    if tenant is None:
        raise NotFound("No such tenant.", code="tenant_not_found")
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
async def list_keys(tenant_id: str, context: ContextDep, _admin: TenantAdminDep) -> list[KeyOut]:
    if await context.catalog.get_tenant(TenantId(tenant_id)) is None:
        raise NotFound("No such tenant.", code="tenant_not_found")
    return [KeyOut.of(k) for k in await context.catalog.list_api_keys(TenantId(tenant_id))]


@router.delete("/{tenant_id}/keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_key(
    tenant_id: str, key_id: str, context: ContextDep, _admin: TenantAdminDep
) -> Response:
    if not await context.catalog.revoke_api_key(TenantId(tenant_id), key_id):
        raise NotFound("No such key.", code="key_not_found")
    return Response(status_code=204)
