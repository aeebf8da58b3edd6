"""Gateway settings (environment prefix ``RAGLINE_GATEWAY_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_GATEWAY_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Largest accepted request body (uploads included); larger bodies get 413 before parsing."""
    retrieval_url: str = "http://127.0.0.1:8001"
    generation_url: str = "http://127.0.0.1:8002"
    peer_timeout_s: float = Field(default=30.0, gt=0)
    key_pepper: SecretStr | None = None
    """Secret mixed into API-key hashes. Unset in single-node mode: generated once and kept in
    the data directory. Must be set (and equal) on every replica that shares a catalog."""
    rate_limiter: Literal["memory", "redis"] = "memory"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    query_per_minute: int = Field(default=600, ge=1)
    ingest_per_minute: int = Field(default=300, ge=1)
    tenant_jobs_in_flight: int = Field(default=64, ge=1, le=10_000)
    """Jobs of one tenant in the broker queue at once. Small keeps tenants fair (another
    tenant's upload waits behind at most this many); large keeps a busy worker fed: it should
    exceed the workers' combined ``RAGLINE_INGESTION_CONCURRENCY`` (32 each by default)."""
    sweep_interval_s: float = Field(default=5.0, gt=0)
    """How often waiting jobs are dispatched even without an upload or a finished job."""
