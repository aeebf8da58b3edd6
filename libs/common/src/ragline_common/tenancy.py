"""Tenancy types.

The tenant is resolved once per request from the caller's credentials and then passed explicitly
as a ``TenantId`` argument to every data-touching call. It never comes from a header or body the
client controls, so a distinct type makes accidental use of a raw client string visible in review.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

from pydantic import BaseModel, ConfigDict

TenantId = NewType("TenantId", str)


class Scope(StrEnum):
    """What an API key may do; a key holds one or more scopes."""

    INGEST = "ingest"
    QUERY = "query"
    ADMIN = "admin"


class Principal(BaseModel):
    """The authenticated caller of one request: a tenant's key, or the operator."""

    model_config = ConfigDict(frozen=True)

    tenant_id: TenantId | None
    key_id: str | None
    scopes: frozenset[Scope]
    is_operator: bool = False

    def require_tenant(self) -> TenantId:
        """Return the tenant this principal acts for; operators have none."""
        if self.tenant_id is None:
            from ragline_common.errors import Forbidden

            raise Forbidden("This operation needs a tenant API key, not the operator token.")
        return self.tenant_id
