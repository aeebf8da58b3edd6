"""Who is calling: one verification of API keys for every door into the gateway.

REST requests (``Authorization: Bearer``) and queue-drop messages (an AMQP header) both come
through here, so a revoked, expired or under-scoped key is refused identically whichever way it
arrives. Error details are fixed texts: they never echo the presented key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from ragline_common.errors import Forbidden, Unauthorized
from ragline_common.tenancy import Principal, Scope, TenantId
from ragline_gateway.domain import api_keys
from ragline_gateway.ports.catalog import ApiKeyRecord


class KeyLookup(Protocol):
    """Where keys are found: the catalog itself, or a short-lived cache of it."""

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None: ...


async def authenticate(
    token: str, *, catalog: KeyLookup, key_pepper: bytes, admin_token: str
) -> Principal:
    """The principal a presented secret stands for, or ``Unauthorized``.

    Order matters for cost: the operator token and the key's checksum are checked before the
    one database lookup, so garbage never reaches the catalog.
    """
    if api_keys.tokens_equal(token, admin_token):
        return Principal(tenant_id=None, key_id=None, scopes=frozenset(Scope), is_operator=True)
    if not api_keys.looks_valid(token):
        raise Unauthorized("The API key is not valid.", code="invalid_api_key")
    record = await catalog.find_api_key(api_keys.hash_key(token, key_pepper))
    if record is None or record.revoked_at is not None:
        raise Unauthorized("The API key is not valid.", code="invalid_api_key")
    if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
        raise Unauthorized("The API key has expired.", code="expired_api_key")
    return Principal(tenant_id=record.tenant_id, key_id=record.id, scopes=record.scopes)


def require_scope(principal: Principal, scopes: frozenset[Scope]) -> TenantId:
    """The tenant of a key holding one of ``scopes``; operators and other keys are refused."""
    tenant_id = principal.require_tenant()
    if not scopes & principal.scopes:
        wanted = "' or '".join(sorted(scopes))
        raise Forbidden(f"This API key lacks the '{wanted}' scope.", code="missing_scope")
    return tenant_id
