"""``GET /v1/whoami``: who the credential is and what it may do.

A client (the console above all) asks once after sign-in, to show only the screens the
credential's scopes allow, instead of probing routes and reading their refusals.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from ragline_common.tenancy import Scope
from ragline_gateway.deps import ContextDep, PrincipalDep

router = APIRouter(prefix="/v1", tags=["identity"])


class WhoAmI(BaseModel):
    kind: Literal["operator", "tenant"]
    tenant_id: str | None
    tenant_name: str | None
    key_id: str | None
    scopes: list[Scope]
    """In the order ingest, query, admin; empty for the operator, whose token is no key."""


@router.get("/whoami", response_model=WhoAmI, summary="The calling credential and its scopes")
async def whoami(context: ContextDep, principal: PrincipalDep) -> WhoAmI:
    if principal.is_operator or principal.tenant_id is None:
        return WhoAmI(kind="operator", tenant_id=None, tenant_name=None, key_id=None, scopes=[])
    tenant = await context.catalog.get_tenant(principal.tenant_id)
    return WhoAmI(
        kind="tenant",
        tenant_id=principal.tenant_id,
        tenant_name=tenant.name if tenant is not None else None,
        key_id=principal.key_id,
        scopes=[scope for scope in Scope if scope in principal.scopes],
    )
