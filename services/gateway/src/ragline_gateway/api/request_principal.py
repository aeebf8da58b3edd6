"""Who sent this request, worked out once however many parts of the gateway ask.

Two parts need the principal: the idempotency middleware, which scopes a key to the tenant
before the route runs, and the route's own dependency (``deps.get_principal``). Each used to
authenticate on its own, which cost a second key lookup and let a throttled address have its
key verified by the middleware. The outcome is kept in the request's ASGI state instead, the
refusal included, so the second asker gets exactly what the first one got.

The address throttle is checked here, before any key is looked at, whoever asks first. Counting
a failure is not done here: only the dependency counts (once), because only it is sure to run
for every refused request (the middleware asks only when an ``Idempotency-Key`` is sent).
"""

from __future__ import annotations

from starlette.types import Scope

from ragline_common.errors import RaglineError, Unauthorized
from ragline_common.tenancy import Principal
from ragline_gateway.api.front_door import header
from ragline_gateway.context import GatewayContext
from ragline_gateway.domain.auth_throttle import refuse_if_throttled
from ragline_gateway.domain.authentication import authenticate

PRINCIPAL_STATE = "ragline_principal"
"""Key in the ASGI ``state`` under which the request's principal, or its refusal, is kept."""


def bearer_token(scope: Scope) -> str | None:
    """The credential of ``Authorization: Bearer <token>``, read as FastAPI's ``HTTPBearer``
    reads it (the first such header, the token stripped)."""
    authorization = (header(scope, b"authorization") or b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def client_address(scope: Scope) -> str:
    """The TCP peer. Not ``X-Forwarded-For``: uvicorn runs without proxy headers, and a header
    is client input, which would let a guesser pick a fresh address for every attempt."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def request_principal(scope: Scope, context: GatewayContext) -> Principal:
    """The principal of this request, or the refusal (``RateLimited``, ``Unauthorized``...)
    that every later ask gets again; authenticated at most once per request."""
    state = scope.setdefault("state", {})
    outcome: Principal | RaglineError | None = state.get(PRINCIPAL_STATE)
    if outcome is None:
        try:
            outcome = await _authenticate(scope, context)
        except RaglineError as refusal:
            outcome = refusal
        state[PRINCIPAL_STATE] = outcome
    if isinstance(outcome, RaglineError):
        raise outcome
    return outcome


async def _authenticate(scope: Scope, context: GatewayContext) -> Principal:
    refuse_if_throttled(
        context.keys, client_address(scope), limit=context.settings.unauthenticated_per_minute
    )
    token = bearer_token(scope)
    if token is None:
        raise Unauthorized(
            "Send an API key as 'Authorization: Bearer <key>'.", code="missing_api_key"
        )
    return await authenticate(
        token, catalog=context.keys, key_pepper=context.key_pepper, admin_token=context.admin_token
    )
