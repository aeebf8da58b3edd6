"""Bodies of the tenant administration routes: limits, quotas, key rotation.

``PATCH`` bodies distinguish a field left out (unchanged) from ``null`` (back to the gateway's
default): pydantic's ``model_fields_set`` says which fields the operator sent.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ragline_gateway.api.schemas import TenantOut
from ragline_gateway.domain.limits import EffectiveLimits
from ragline_gateway.ports.catalog import TenantLimits, TenantRecord

_MAX_PER_MINUTE = 1_000_000
_MAX_QUOTA = 2**62


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitsPatch(_Strict):
    query_per_minute: int | None = Field(default=None, ge=1, le=_MAX_PER_MINUTE)
    ingest_per_minute: int | None = Field(default=None, ge=1, le=_MAX_PER_MINUTE)


class QuotasPatch(_Strict):
    documents: int | None = Field(default=None, ge=0, le=_MAX_QUOTA)
    stored_bytes: int | None = Field(default=None, ge=0, le=_MAX_QUOTA)
    llm_tokens_per_day: int | None = Field(default=None, ge=0, le=_MAX_QUOTA)


class TenantPatch(_Strict):
    """Fields left out stay as they are; ``null`` returns one to the gateway's default."""

    rate_limits: RateLimitsPatch | None = None
    quotas: QuotasPatch | None = None

    def apply(self, current: TenantLimits) -> TenantLimits:
        values = {
            "query_per_minute": current.query_per_minute,
            "ingest_per_minute": current.ingest_per_minute,
            "max_documents": current.max_documents,
            "max_stored_bytes": current.max_stored_bytes,
            "max_llm_tokens_per_day": current.max_llm_tokens_per_day,
        }
        if self.rate_limits is not None:
            for name in self.rate_limits.model_fields_set:
                values[name] = getattr(self.rate_limits, name)
        if self.quotas is not None:
            names = {
                "documents": "max_documents",
                "stored_bytes": "max_stored_bytes",
                "llm_tokens_per_day": "max_llm_tokens_per_day",
            }
            for name in self.quotas.model_fields_set:
                values[names[name]] = getattr(self.quotas, name)
        return TenantLimits(**values)


class RateLimitsOut(BaseModel):
    query_per_minute: int
    ingest_per_minute: int


class QuotasOut(BaseModel):
    """``null``: unlimited."""

    documents: int | None
    stored_bytes: int | None
    llm_tokens_per_day: int | None


class TenantDetail(TenantOut):
    """A tenant with the limits that bind it now (its overrides over the defaults)."""

    rate_limits: RateLimitsOut
    quotas: QuotasOut

    @classmethod
    def build(cls, record: TenantRecord, limits: EffectiveLimits) -> TenantDetail:
        return cls(
            **TenantOut.of(record).model_dump(),
            rate_limits=RateLimitsOut(
                query_per_minute=limits.query_per_minute,
                ingest_per_minute=limits.ingest_per_minute,
            ),
            quotas=QuotasOut(
                documents=limits.max_documents,
                stored_bytes=limits.max_stored_bytes,
                llm_tokens_per_day=limits.max_llm_tokens_per_day,
            ),
        )


class KeyRotate(_Strict):
    grace_period_s: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 3600,
        description="How long the old key keeps working (default: the gateway's setting).",
    )
