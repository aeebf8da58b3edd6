"""Shared-secret check for service-to-service endpoints (``/internal/...``).

Internal endpoints trust the ``tenant_id`` in their request body, because only the gateway, which
resolved the tenant from the caller's credentials, is supposed to call them. So whenever
``CoreSettings.internal_token`` is set, every internal request must present it; without it a
client that can reach a service port could read any tenant's data.

The expected token is passed as a callable: routers are assembled before the host has started
and loaded its settings, and the check must see the token the running process actually uses.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Security
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from ragline_common.errors import Unauthorized

INTERNAL_TOKEN_HEADER = "X-Ragline-Internal-Token"  # noqa: S105 - a header name, not a secret

TokenSource = Callable[[], SecretStr | None]
"""Returns the token internal callers must present, or ``None`` when none is configured."""

_token_header = APIKeyHeader(
    name=INTERNAL_TOKEN_HEADER,
    auto_error=False,
    scheme_name="InternalToken",
    description="Shared secret of service-to-service calls (CoreSettings.internal_token).",
)


def require_internal_token(expected: TokenSource) -> Callable[[str | None], Awaitable[None]]:
    """A FastAPI dependency that rejects internal calls without the configured token (401).

    Use it on the router: ``APIRouter(dependencies=[Depends(require_internal_token(src))])``.
    """

    async def check(presented: Annotated[str | None, Security(_token_header)]) -> None:
        token = expected()
        if token is None:
            return
        # Constant-time comparison: response timing must not reveal how much of a guess matched.
        if presented is None or not hmac.compare_digest(
            presented.encode(), token.get_secret_value().encode()
        ):
            raise Unauthorized(
                f"Internal endpoints need a valid {INTERNAL_TOKEN_HEADER} header.",
                code="invalid_internal_token",
            )

    return check
