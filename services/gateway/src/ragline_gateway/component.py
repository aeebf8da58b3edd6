"""The gateway as a hosted service: wiring of catalog, broker, limits and peer services.

It requires :data:`~ragline_common.hosting.SEARCH_API` and
:data:`~ragline_common.hosting.ANSWER_API`: the co-hosted retrieval and generation services
when the process has them, their internal HTTP APIs otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from ragline_common.clients.answer_http import HttpAnswerClient
from ragline_common.clients.search_http import HttpSearchClient
from ragline_common.contracts.answer import AnswerApi
from ragline_common.contracts.search import SearchApi
from ragline_common.hosting import (
    ANSWER_API,
    SEARCH_API,
    Api,
    ComponentHost,
    Host,
    Requirement,
)
from ragline_common.indexing.model_spec import ModelSpec
from ragline_common.tenancy import TenantId
from ragline_common.topology import QueueName
from ragline_gateway.adapters.catalog import SqlCatalog
from ragline_gateway.adapters.rate_limit_memory import MemoryRateLimiter
from ragline_gateway.api import (
    admin,
    answers,
    chat_completions,
    console,
    documents,
    index_models,
    job_list,
    search,
    tenants,
    usage,
    whoami,
)
from ragline_gateway.api.body_limit import BodySizeLimitMiddleware
from ragline_gateway.api.front_door import ContentTypeMiddleware, FrontDoorHeadersMiddleware
from ragline_gateway.api.idempotency import IdempotencyMiddleware
from ragline_gateway.api.problem_docs import PROBLEM_RESPONSES
from ragline_gateway.consumers.dead_letter_events import DeadLetterEventHandler
from ragline_gateway.consumers.intake import IntakeHandler
from ragline_gateway.consumers.job_events import JobEventHandler
from ragline_gateway.consumers.reindex_events import (
    ReindexDeadLetterHandler,
    ReindexProgressHandler,
)
from ragline_gateway.context import GatewayContext
from ragline_gateway.domain.backpressure import IngestBackpressure
from ragline_gateway.domain.chunk_erasure import resend_pending_erasures
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.ingest_admission import IngestAdmission
from ragline_gateway.domain.key_directory import KeyDirectory
from ragline_gateway.domain.limits import enforce_upload_quota
from ragline_gateway.domain.reindex import IndexModels
from ragline_gateway.ports.catalog import DocumentDraft
from ragline_gateway.ports.rate_limiter import RateLimiter
from ragline_gateway.secrets_store import load_gateway_secrets
from ragline_gateway.settings import GatewaySettings

_log = structlog.get_logger(__name__)
_JOB_EVENT_PREFETCH = 32
_INTAKE_PREFETCH = 8
_IDEMPOTENCY_PURGE_INTERVAL_S = 600.0


class GatewayComponent:
    name = "gateway"

    def __init__(self, settings: GatewaySettings | None = None) -> None:
        self.settings = settings or GatewaySettings()
        self._context: GatewayContext | None = None

    @property
    def provides(self) -> Collection[Api[Any]]:
        return ()

    @property
    def requires(self) -> Collection[Requirement[Any]]:
        return (
            Requirement(SEARCH_API, remote=self._search_client),
            Requirement(ANSWER_API, remote=self._answer_client),
        )

    @property
    def context(self) -> GatewayContext:
        if self._context is None:
            raise RuntimeError("gateway not started")
        return self._context

    async def _attach(self, request: Request) -> None:
        request.state.gateway = self.context

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        public = APIRouter(dependencies=[Depends(self._attach)], responses=PROBLEM_RESPONSES)
        # Search first: FastAPI tries routes in order, and trying the thirty-odd tenant and
        # document routes before it cost every search 60-70 us (issue 15). No other route
        # shares its path, so the order changes only where it is listed in the OpenAPI document.
        for module_router in (
            search.router,
            tenants.router,
            documents.router,
            answers.router,
            chat_completions.router,
            usage.router,
            admin.router,
            index_models.router,
            whoami.router,
            job_list.router,
            console.router,
        ):
            public.include_router(module_router)
        return [public]

    def middleware(self) -> Sequence[Middleware]:
        # Innermost first (each one added wraps the previous): CORS answers preflights before
        # anything else, every response gets the security headers, oversize bodies are refused
        # before the content type is even looked at, and idempotency sees only valid requests.
        stack = [
            Middleware(
                IdempotencyMiddleware,
                context=lambda: self.context,
                routes=frozenset({("POST", "/v1/documents"), ("POST", "/v1/query")}),
            ),
            Middleware(ContentTypeMiddleware, multipart_paths=frozenset({"/v1/documents"})),
            Middleware(BodySizeLimitMiddleware, max_bytes=self.settings.max_upload_bytes),
            Middleware(FrontDoorHeadersMiddleware),
        ]
        if self.settings.cors_allow_origins:
            stack.append(
                Middleware(
                    CORSMiddleware,
                    allow_origins=self.settings.cors_allow_origins,
                    allow_methods=["GET", "POST", "PATCH", "DELETE"],
                    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                    expose_headers=["RateLimit", "RateLimit-Policy", "Retry-After"],
                    max_age=600,
                )
            )
        return stack

    def _rate_limiter(self) -> RateLimiter:
        match self.settings.rate_limiter:
            case "memory":
                return MemoryRateLimiter()
            case "redis":
                # Imported here: redis costs ~0.3 s of every start that does not use it.
                from ragline_gateway.adapters.rate_limit_redis import RedisRateLimiter

                return RedisRateLimiter(self.settings.redis_url.get_secret_value())

    async def start(self, host: ComponentHost) -> None:
        infra = host.settings
        shared_catalog = infra.catalog.url is not None
        gateway_secrets = load_gateway_secrets(
            infra.core, self.settings.key_pepper, shared_catalog=shared_catalog
        )
        catalog = SqlCatalog(
            infra.catalog.resolved_url(infra.core.data_dir), pool_size=infra.catalog.pool_size
        )
        await catalog.open()
        host.stack.push_async_callback(catalog.close)
        broker = await host.broker()
        limiter = self._rate_limiter()
        host.stack.push_async_callback(limiter.close)
        search = host.require(SEARCH_API)
        answers_api = host.require(ANSWER_API)
        # Reads and writes name the active index; the process's embedder is the default spec.
        indexes = IndexModels(catalog, broker, default_spec=str(ModelSpec.default(infra.embedder)))
        dispatcher = JobDispatcher(
            catalog, broker, window=self.settings.tenant_jobs_in_flight, indexes=indexes
        )
        keys = KeyDirectory(
            catalog,
            ttl_s=self.settings.key_cache_ttl_s,
            touch_interval_s=self.settings.key_touch_interval_s,
        )
        backpressure = IngestBackpressure(
            catalog,
            broker,
            limit=self.settings.ingest_backlog_limit,
            tenant_limit=self.settings.ingest_backlog_per_tenant,
        )
        self._context = GatewayContext(
            settings=self.settings,
            catalog=catalog,
            broker=broker,
            dispatcher=dispatcher,
            rate_limiter=limiter,
            search=search,
            answers=answers_api,
            key_pepper=gateway_secrets.key_pepper,
            admin_token=gateway_secrets.admin_token,
            keys=keys,
            backpressure=backpressure,
            indexes=indexes,
        )
        host.checks["catalog"] = catalog.ping
        host.checks["broker"] = broker.ping
        host.checks["rate_limiter"] = limiter.ping
        # Reindex task statuses count as progress; every other event goes to the job handler.
        await broker.consume(
            QueueName.JOB_EVENTS,
            ReindexProgressHandler(
                JobEventHandler(catalog, broker, dispatcher, indexes),
                indexes,
                dispatcher,
                documents=catalog,
                broker=broker,
            ),
            prefetch=_JOB_EVENT_PREFETCH,
        )
        intake = IntakeHandler(
            catalog=catalog,
            broker=broker,
            dispatcher=dispatcher,
            key_pepper=gateway_secrets.key_pepper,
            admin_token=gateway_secrets.admin_token,
            max_upload_bytes=self.settings.max_upload_bytes,
            quota=self._upload_quota,
            admission=IngestAdmission(keys, limiter, backpressure, self.settings),
        )
        await broker.consume(QueueName.INTAKE, intake, prefetch=_INTAKE_PREFETCH)
        await broker.consume(
            QueueName.DEAD_LETTER_EVENTS,
            ReindexDeadLetterHandler(
                DeadLetterEventHandler(catalog, dispatcher), indexes, dispatcher
            ),
            prefetch=_JOB_EVENT_PREFETCH,
        )
        if infra.broker.kind == "memory":
            # Nothing queued survived the last stop: every unfinished job goes out again.
            await catalog.reset_publication()
            await catalog.reset_reindex_publication()
        try:
            await dispatcher.dispatch_all()
        except Exception:
            # Start-up must not depend on any one job, nor on the catalog this instant: the sweeper
            # dispatches what this pass could not, and /readyz reports a catalog outage.
            _log.exception("dispatch_at_start_failed")
        sweeper = asyncio.create_task(self._sweep_forever(), name="gateway-dispatch-sweeper")
        host.stack.push_async_callback(_cancel, sweeper)

    async def _upload_quota(self, tenant_id: TenantId, draft: DocumentDraft) -> None:
        context = self.context
        await enforce_upload_quota(
            tenant_id,
            draft,
            overrides=context.keys,
            documents=context.catalog,
            settings=self.settings,
        )

    def _search_client(self, host: Host) -> SearchApi:
        """Retrieval in another process; a gateway is ready only while it answers."""
        client = HttpSearchClient(
            self.settings.retrieval_url,
            host.settings.core.internal_token,
            timeout_s=self.settings.peer_timeout_s,
        )
        host.stack.push_async_callback(client.aclose)
        host.checks["retrieval"] = client.ping
        return client

    def _answer_client(self, host: Host) -> AnswerApi:
        """Generation in another process; likewise."""
        client = HttpAnswerClient(
            self.settings.generation_url,
            host.settings.core.internal_token,
            timeout_s=self.settings.peer_timeout_s,
        )
        host.stack.push_async_callback(client.aclose)
        host.checks["generation"] = client.ping
        return client

    async def _sweep_forever(self) -> None:
        next_purge = 0.0
        while True:
            await asyncio.sleep(self.settings.sweep_interval_s)
            try:
                await self.context.dispatcher.dispatch_all()
            except Exception:
                _log.exception("dispatch_sweep_failed")
            try:
                # Deletions whose erasure request the broker never confirmed (chunk_erasure).
                await resend_pending_erasures(
                    self.context.catalog,
                    self.context.broker,
                    index_models=await self.context.indexes.kept(),
                )
            except Exception:
                _log.exception("erasure_sweep_failed")
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + _IDEMPOTENCY_PURGE_INTERVAL_S
                try:
                    await self.context.catalog.purge_idempotency_keys(before=datetime.now(UTC))
                except Exception:
                    _log.exception("idempotency_purge_failed")


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
