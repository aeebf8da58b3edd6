"""The idempotency role of the catalog: keys that make a retried request answer as the first.

Kept in the catalog, not in process memory, so a retry that reaches another replica is still
recognised (stateless replicas).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from ragline_common.tenancy import TenantId


@dataclass(frozen=True)
class StoredResponse:
    """A finished response kept for replay under an idempotency key."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class IdempotencyClaim:
    """Outcome of presenting an idempotency key.

    ``claimed``: the caller runs the request and then completes or releases the key;
    ``running``: another request holds it; ``mismatch``: it was used for another request;
    ``done``: ``response`` is the original answer to replay.
    """

    outcome: Literal["claimed", "running", "mismatch", "done"]
    response: StoredResponse | None = None


class IdempotencyStore(Protocol):
    async def claim_idempotency_key(
        self,
        tenant_id: TenantId,
        key: str,
        fingerprint: str,
        *,
        now: datetime,
        lease_s: float,
        ttl_s: float,
    ) -> IdempotencyClaim:
        """Claim ``key`` for a request; a running claim older than ``lease_s`` is abandoned."""

    async def complete_idempotency_key(
        self, tenant_id: TenantId, key: str, response: StoredResponse
    ) -> None: ...

    async def release_idempotency_key(self, tenant_id: TenantId, key: str) -> None:
        """Forget a claim whose request failed in a way a retry may fix."""

    async def purge_idempotency_keys(self, *, before: datetime) -> int:
        """Drop records that expired before ``before``; returns how many."""
