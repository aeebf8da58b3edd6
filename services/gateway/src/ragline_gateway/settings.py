"""Gateway settings (environment prefix ``RAGLINE_GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_PEPPER_CHARS = 32
_PLACEHOLDER_MARKERS = ("changeme", "change-me", "change_me", "placeholder", "example", "...")
_MIN_DISTINCT_PEPPER_CHARS = 8
"""A random hex string of 32 characters has about 14 distinct ones; 8 refuses repetitions."""


class GatewaySettings(BaseSettings):
    # A refused value must not reach the error text: it is a secret, and errors reach logs.
    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_GATEWAY_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Largest accepted request body (uploads included); larger bodies get 413 before parsing."""
    retrieval_url: str = "http://127.0.0.1:8001"
    generation_url: str = "http://127.0.0.1:8002"
    peer_timeout_s: float = Field(default=30.0, gt=0)
    key_pepper: SecretStr | None = None
    """Secret mixed into API-key hashes. Unset in single-node mode: generated once and kept in
    the data directory. Must be set (and equal) on every replica that shares a catalog."""

    @field_validator("key_pepper")
    @classmethod
    def _refuse_weak_pepper(cls, value: SecretStr | None) -> SecretStr | None:
        """Keys are stored as HMACs under the pepper; a short or copied-from-the-docs one makes
        a stolen catalog cheaper to attack, and it cannot be changed later without reissuing
        every key. So a weak one stops the start, not the first breach."""
        if value is None:
            return None
        pepper = value.get_secret_value()
        if (
            len(pepper) < MIN_PEPPER_CHARS
            or any(marker in pepper.lower() for marker in _PLACEHOLDER_MARKERS)
            or len(set(pepper)) < _MIN_DISTINCT_PEPPER_CHARS
        ):
            raise ValueError(
                f"RAGLINE_GATEWAY_KEY_PEPPER must be a random secret of at least "
                f"{MIN_PEPPER_CHARS} characters, not a placeholder; make one with "
                "python3 -c 'import secrets; print(secrets.token_hex(32))'"
            )
        return value

    rate_limiter: Literal["memory", "redis"] = "memory"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    query_per_minute: int = Field(default=600, ge=1)
    ingest_per_minute: int = Field(default=300, ge=1)
    admin_per_minute: int = Field(default=300, ge=1)
    """Tenant, key and dead-letter management calls per minute and principal: the operator
    token counts as one principal, each admin key as another."""
    unauthenticated_per_minute: int = Field(default=60, ge=1)
    """Requests per minute and client address that fail to authenticate (no key, or an unknown,
    revoked or expired one). Past it the address gets 429 before any key is looked at, until
    the window ends: guessing keys is throttled. The address is the TCP peer's, so behind a
    proxy every client shares the proxy's budget; raise this there."""
    tenant_jobs_in_flight: int = Field(default=64, ge=1, le=10_000)
    """Jobs of one tenant in the broker queue at once. Small keeps tenants fair (another
    tenant's upload waits behind at most this many); large keeps a busy worker fed: it should
    exceed the workers' combined ``RAGLINE_INGESTION_CONCURRENCY`` (32 each by default)."""
    sweep_interval_s: float = Field(default=5.0, gt=0)
    """How often waiting jobs are dispatched even without an upload or a finished job."""

    # Front door (issue 6, ADR 0012)
    key_cache_ttl_s: float = Field(default=1.0, ge=0, le=1.0)
    """How long a replica trusts a key lookup (and the tenant's limits) without the catalog.
    At most one second: a revocation must bind every replica within that."""
    key_touch_interval_s: float = Field(default=60.0, ge=0)
    """``last_used_at`` is written at most this often per key and replica (not per request)."""
    key_rotation_grace_s: int = Field(default=24 * 3600, ge=0, le=30 * 24 * 3600)
    """Default time a rotated key keeps working beside its replacement."""
    rate_limit_failure_mode: Literal["open", "closed"] = "closed"
    """With the limiter store down: ``open`` serves unlimited (logged, counted in
    ``ragline_gateway_rate_limiter_unavailable_total``); ``closed`` answers 503."""
    quota_documents: int | None = Field(default=None, ge=1)
    """Default most live documents per tenant (None: unlimited); operators override per tenant."""
    quota_stored_bytes: int | None = Field(default=None, ge=1)
    quota_llm_tokens_per_day: int | None = Field(default=None, ge=1)
    ingest_backlog_limit: int = Field(default=10_000, ge=1)
    """Unfinished ingestion jobs (all tenants) past which uploads get 503 + Retry-After."""
    ingest_backlog_per_tenant: int | None = Field(default=None, ge=1)
    """Unfinished jobs one tenant may hold before its uploads get 429 (None: a quarter of
    ``ingest_backlog_limit``), so that one tenant's flood never fills the whole backlog."""
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)
    idempotency_lease_s: float = Field(default=300.0, gt=0)
    """A request holding an idempotency key longer than this is presumed dead (its replica
    crashed), and a retry may take the key over."""
    cors_allow_origins: list[str] = Field(default_factory=list)
    """Browser origins allowed to call the API; empty (the default) sends no CORS headers."""
    console_dist: Path | None = None
    """The built console (``npm run build``'s ``dist``) served at ``/console``; None: the
    checkout's ``console/dist`` when the gateway runs from a source tree (``make console``)."""
