"""Everything a gateway request handler may use, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from ragline_common.contracts.answer import AnswerApi
from ragline_common.contracts.search import SearchApi
from ragline_common.ports.broker import Broker
from ragline_gateway.domain.backpressure import IngestBackpressure
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.key_directory import KeyDirectory
from ragline_gateway.domain.reindex import IndexModels
from ragline_gateway.ports.catalog import Catalog
from ragline_gateway.ports.rate_limiter import RateLimiter
from ragline_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class GatewayContext:
    settings: GatewaySettings
    catalog: Catalog
    broker: Broker
    dispatcher: JobDispatcher
    rate_limiter: RateLimiter
    search: SearchApi
    answers: AnswerApi
    key_pepper: bytes
    admin_token: str
    keys: KeyDirectory
    backpressure: IngestBackpressure
    indexes: IndexModels
    """Which embedding index reads and writes use (reindexing, ADR 0018)."""
