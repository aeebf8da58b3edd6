"""Annotated dependencies: the request's context, principal, tenant and rate limits.

The tenant is resolved here, once, from the API key, and handed to handlers as ``TenantId``.
Handlers never read a tenant from the path, query or body for data access.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ragline_common.errors import Forbidden, NotFound, Unauthorized
from ragline_common.tenancy import Principal, Scope, TenantId
from ragline_gateway.api.front_door import RESPONSE_HEADERS_STATE
from ragline_gateway.api.request_principal import client_address, request_principal
from ragline_gateway.context import GatewayContext
from ragline_gateway.domain.answering import Answering
from ragline_gateway.domain.auth_throttle import count_failed_authentication
from ragline_gateway.domain.authentication import require_scope
from ragline_gateway.domain.limits import (
    Bucket,
    EffectiveLimits,
    check_token_quota,
    count_request,
    effective_limits,
    enforce_rate_limit,
    policy_headers,
)

_bearer = HTTPBearer(
    auto_error=False, description="A tenant API key (rl_...) or the operator token"
)


async def get_context(request: Request) -> GatewayContext:
    context: GatewayContext = request.state.gateway
    return context


ContextDep = Annotated[GatewayContext, Depends(get_context)]


async def get_answering(context: ContextDep) -> Answering:
    return Answering(context.search, context.answers, context.catalog, context.indexes)


AnsweringDep = Annotated[Answering, Depends(get_answering)]
"""The answering use-case both answer routes share (query, chat completions)."""

PathId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
"""An id in a URL path (``ten_...``, ``key_...``): what the gateway makes, letters, digits,
``_`` and ``-``. Anything else (a NUL above all, which PostgreSQL refuses in text) is a 422 at
the door, never a catalog query."""


BearerScheme = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""Declares the bearer scheme in the OpenAPI document (the "Authorize" button of ``/docs``);
the token itself is read by ``request_principal``, which the idempotency middleware may have
asked already."""


async def get_principal(
    request: Request, context: ContextDep, _credentials: BearerScheme
) -> Principal:
    """The caller, authenticated once per request (see :func:`_principal`)."""
    return await _principal(request, context)


async def _principal(request: Request, context: GatewayContext) -> Principal:
    """The caller, authenticated once per request (see ``request_principal``); a refusal is
    counted here, and only here, against the client's address.

    A route asks for it through one dependency only (``PrincipalDep`` or a tenant dependency,
    never both): each call counts a refusal and touches the key.
    """
    try:
        principal = await request_principal(request.scope, context)
    except Unauthorized:
        address = client_address(request.scope)
        limit = context.settings.unauthenticated_per_minute
        add_response_headers(request, policy_headers("unauthenticated", limit, None))
        headers = await count_failed_authentication(
            context.rate_limiter,
            context.keys,
            address,
            limit=limit,
            failure_mode=context.settings.rate_limit_failure_mode,
        )
        add_response_headers(request, headers)
        raise
    if principal.tenant_id is not None:
        request.scope.setdefault("state", {})["tenant_id"] = principal.tenant_id
    if principal.key_id is not None:
        await context.keys.touch(principal.key_id, datetime.now(UTC))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def _count_management_call(
    request: Request, context: GatewayContext, principal: Principal
) -> None:
    """One call of tenant, key or dead-letter management, counted per principal: the operator
    token is one, each key another (whatever its scopes: refusals count too).

    With the limiter store down these calls are served anyway (logged and counted, as in the
    ``open`` failure mode) whatever the configured mode: revoking a leaked key must not wait
    for Redis, and the callers are few and authenticated.
    """
    counter = "operator" if principal.is_operator else f"key:{principal.key_id}"
    limit = context.settings.admin_per_minute
    add_response_headers(request, policy_headers("admin", limit, None))
    headers = await count_request(
        context.rate_limiter, bucket="admin", counters=(counter,), limit=limit, failure_mode="open"
    )
    add_response_headers(request, headers)


async def require_operator(
    request: Request, context: ContextDep, principal: PrincipalDep
) -> Principal:
    await _count_management_call(request, context, principal)
    if not principal.is_operator:
        raise Forbidden("Only the operator may manage tenants.", code="operator_only")
    return principal


OperatorDep = Annotated[Principal, Depends(require_operator)]


def add_response_headers(request: Request, headers: dict[str, str]) -> None:
    """Headers for this request's response, whatever it turns out to be (errors included).

    :class:`~ragline_gateway.api.front_door.FrontDoorHeadersMiddleware` adds them.
    """
    request.scope.setdefault("state", {}).setdefault(RESPONSE_HEADERS_STATE, {}).update(headers)


async def tenant_limits(context: GatewayContext, tenant_id: TenantId) -> EffectiveLimits:
    return await effective_limits(context.keys, context.settings, tenant_id)


def _tenant_with_scope(
    scopes: frozenset[Scope], bucket: Bucket
) -> Callable[[Request, BearerScheme], Awaitable[TenantId]]:
    async def dependency(request: Request, _credentials: BearerScheme) -> TenantId:
        """The context, principal, scope and limit in one dependency rather than three: each
        FastAPI dependency costs tens of microseconds per request to solve, which the search
        route (the hot path, issue 15) pays on every call."""
        context = await get_context(request)
        principal = await _principal(request, context)
        tenant_id = require_scope(principal, scopes)
        limits = await tenant_limits(context, tenant_id)
        limit = limits.per_minute(bucket)
        add_response_headers(request, policy_headers(bucket, limit, None))
        headers = await enforce_rate_limit(
            context.rate_limiter,
            bucket=bucket,
            key_id=principal.key_id,
            tenant_id=tenant_id,
            limit=limit,
            failure_mode=context.settings.rate_limit_failure_mode,
        )
        add_response_headers(request, headers)
        return tenant_id

    return dependency


IngestTenant = Annotated[TenantId, Depends(_tenant_with_scope(frozenset({Scope.INGEST}), "ingest"))]
QueryTenant = Annotated[TenantId, Depends(_tenant_with_scope(frozenset({Scope.QUERY}), "query"))]
ContentReaderTenant = Annotated[
    TenantId, Depends(_tenant_with_scope(frozenset({Scope.QUERY, Scope.ADMIN}), "query"))
]
"""Reading what the tenant stored (documents, chunks) or its usage: ``query`` or ``admin``.

Never ``ingest`` alone: producers hold ingest-only keys precisely so that a leaked one cannot
read the index (docs/queue-contract.md). ``admin`` may, as it could mint a query key anyway.
"""
JobReaderTenant = Annotated[
    TenantId,
    Depends(_tenant_with_scope(frozenset({Scope.INGEST, Scope.QUERY, Scope.ADMIN}), "query")),
]
"""A job's status, for every scope: the uploader must follow its upload, and a job shows ids,
state, counts and a fixed failure reason, never a title or text."""


async def _generation_tenant(context: ContextDep, tenant_id: QueryTenant) -> TenantId:
    """A query-scoped tenant that still has LLM tokens left today (quota)."""
    limits = await tenant_limits(context, tenant_id)
    await check_token_quota(context.catalog, tenant_id, limits, now=datetime.now(UTC))
    return tenant_id


GenerationTenant = Annotated[TenantId, Depends(_generation_tenant)]
"""For routes that spend LLM tokens: ``QueryTenant`` plus the daily token quota."""


async def _admin_of_tenant(
    request: Request, context: ContextDep, principal: PrincipalDep, tenant_id: PathId
) -> Principal:
    """Operator, or an ``admin`` key of this very tenant (for managing its own keys)."""
    await _count_management_call(request, context, principal)
    if principal.is_operator:
        return principal
    if principal.tenant_id == tenant_id and Scope.ADMIN in principal.scopes:
        return principal
    if principal.tenant_id == tenant_id:
        raise Forbidden("This API key lacks the 'admin' scope.", code="missing_scope")
    # Another tenant's id: answer as if it did not exist.

    raise NotFound("No such tenant.", code="tenant_not_found")


TenantAdminDep = Annotated[Principal, Depends(_admin_of_tenant)]


async def _operator_or_tenant_admin(
    request: Request, context: ContextDep, principal: PrincipalDep
) -> Principal:
    """The operator (every tenant) or a tenant's ``admin`` key (that tenant only)."""
    await _count_management_call(request, context, principal)
    if principal.is_operator or Scope.ADMIN in principal.scopes:
        return principal
    raise Forbidden("This API key lacks the 'admin' scope.", code="missing_scope")


AdminDep = Annotated[Principal, Depends(_operator_or_tenant_admin)]
