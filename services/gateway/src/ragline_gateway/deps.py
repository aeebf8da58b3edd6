"""Annotated dependencies: the request's context, principal, tenant and rate limits.

The tenant is resolved here, once, from the API key, and handed to handlers as ``TenantId``.
Handlers never read a tenant from the path, query or body for data access.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ragline_common.errors import Forbidden, NotFound, RateLimited, Unauthorized
from ragline_common.ports.rate_limiter import RateLimitDecision
from ragline_common.tenancy import Principal, Scope, TenantId
from ragline_gateway.context import GatewayContext
from ragline_gateway.domain.authentication import authenticate, require_scope

_bearer = HTTPBearer(
    auto_error=False, description="A tenant API key (rl_...) or the operator token"
)


def get_context(request: Request) -> GatewayContext:
    context: GatewayContext = request.state.gateway
    return context


ContextDep = Annotated[GatewayContext, Depends(get_context)]


async def get_principal(
    request: Request,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized(
            "Send an API key as 'Authorization: Bearer <key>'.", code="missing_api_key"
        )
    principal = await authenticate(
        credentials.credentials,
        catalog=context.catalog,
        key_pepper=context.key_pepper,
        admin_token=context.admin_token,
    )
    if principal.tenant_id is not None:
        request.scope.setdefault("state", {})["tenant_id"] = principal.tenant_id
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_operator(principal: PrincipalDep) -> Principal:
    if not principal.is_operator:
        raise Forbidden("Only the operator may manage tenants.", code="operator_only")
    return principal


OperatorDep = Annotated[Principal, Depends(require_operator)]

LimitBucket = Literal["ingest", "query"]


def _policy_headers(decision: RateLimitDecision, name: str) -> dict[str, str]:
    # IETF draft-ietf-httpapi-ratelimit-headers: structured-field lists of named policies.
    return {
        "RateLimit-Policy": f'"{name}";q={decision.limit};w={decision.window_s}',
        "RateLimit": f'"{name}";r={decision.remaining};t={round(decision.reset_s)}',
    }


def _tenant_with_scope(
    scopes: frozenset[Scope], bucket: LimitBucket
) -> Callable[[Response, ContextDep, PrincipalDep], Awaitable[TenantId]]:
    async def dependency(
        response: Response, context: ContextDep, principal: PrincipalDep
    ) -> TenantId:
        tenant_id = require_scope(principal, scopes)
        limit = (
            context.settings.ingest_per_minute
            if bucket == "ingest"
            else context.settings.query_per_minute
        )
        key_decision = await context.rate_limiter.hit(
            f"{bucket}:key:{principal.key_id}", limit=limit, window_s=60
        )
        tenant_decision = await context.rate_limiter.hit(
            f"{bucket}:tenant:{tenant_id}", limit=limit, window_s=60
        )
        tightest = min((key_decision, tenant_decision), key=lambda d: (d.allowed, d.remaining))
        headers = _policy_headers(tightest, bucket)
        response.headers.update(headers)
        if not (key_decision.allowed and tenant_decision.allowed):
            raise RateLimited(
                f"Rate limit for {bucket} exceeded; retry later.",
                retry_after_s=tightest.retry_after_s,
                headers=headers,
            )
        return tenant_id

    return dependency


IngestTenant = Annotated[TenantId, Depends(_tenant_with_scope(frozenset({Scope.INGEST}), "ingest"))]
QueryTenant = Annotated[TenantId, Depends(_tenant_with_scope(frozenset({Scope.QUERY}), "query"))]
ReaderTenant = Annotated[
    TenantId, Depends(_tenant_with_scope(frozenset({Scope.INGEST, Scope.QUERY}), "query"))
]
"""Reading documents and jobs: either scope may check on what it uploaded or searches."""


async def _admin_of_tenant(principal: PrincipalDep, tenant_id: str) -> Principal:
    """Operator, or an ``admin`` key of this very tenant (for managing its own keys)."""
    if principal.is_operator:
        return principal
    if principal.tenant_id == tenant_id and Scope.ADMIN in principal.scopes:
        return principal
    if principal.tenant_id == tenant_id:
        raise Forbidden("This API key lacks the 'admin' scope.", code="missing_scope")
    # Another tenant's id: answer as if it did not exist.

    raise NotFound("No such tenant.", code="tenant_not_found")


TenantAdminDep = Annotated[Principal, Depends(_admin_of_tenant)]


def _operator_or_tenant_admin(principal: PrincipalDep) -> Principal:
    """The operator (every tenant) or a tenant's ``admin`` key (that tenant only)."""
    if principal.is_operator or Scope.ADMIN in principal.scopes:
        return principal
    raise Forbidden("This API key lacks the 'admin' scope.", code="missing_scope")


AdminDep = Annotated[Principal, Depends(_operator_or_tenant_admin)]
