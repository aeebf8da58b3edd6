"""Shared-secret check for service-to-service endpoints (``/internal/...``).

Internal endpoints trust the ``tenant_id`` in their request body, because only the gateway, which
resolved the tenant from the caller's credentials, is supposed to call them. So whenever
``CoreSettings.internal_token`` is set, every internal request must present it; without it a
client that can reach a service port could read any tenant's data. Running without one is
allowed only where nobody else can reach the port: :func:`refuse_open_internal_api` stops a
process whose internal routes would listen on anything but loopback without a token.

The expected token is passed as a callable: routers are assembled before the host has started
and loaded its settings, and the check must see the token the running process actually uses.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Security
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from ragline_common.errors import Unauthorized
from ragline_common.settings import CoreSettings

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


class OpenInternalApiError(ValueError):
    """Internal routes would serve a reachable address without the internal token."""


def is_loopback_host(host: str) -> bool:
    """True for addresses only this machine can reach: 127.0.0.0/8, ``::1``, ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def refuse_open_internal_api(core: CoreSettings, services: Sequence[str]) -> None:
    """Stop a process that would mount ``services``' internal routes open to the network.

    Called at app assembly, before any port is bound, by a process whose hosted services expose
    internal routes (retrieval or generation without the gateway). Without a token those routes
    take any ``tenant_id`` from the body, which is safe only on loopback.
    """
    if core.internal_token is not None or is_loopback_host(core.host):
        return
    raise OpenInternalApiError(
        f"{', '.join(services)} would serve /internal routes on RAGLINE_HOST={core.host} without "
        "RAGLINE_INTERNAL_TOKEN, so anyone reaching that address could read any tenant's data. "
        "Set RAGLINE_INTERNAL_TOKEN (the gateway must present the same value), or listen on "
        "loopback only (RAGLINE_HOST=127.0.0.1)."
    )
