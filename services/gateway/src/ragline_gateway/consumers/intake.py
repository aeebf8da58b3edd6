"""The queue drop: documents a producer publishes to the public intake exchange.

A message is authenticated by the API key in its ``x-ragline-api-key`` header through the same
code as a REST request, validated under the same rules, and submitted through the same
:func:`~ragline_gateway.domain.uploads.submit_upload`. What it cannot be, it never becomes:
an invalid key, scope or message raises ``PermanentProcessingError`` and the broker parks it in
the dead-letter queue with the reason. No reason ever contains the key.

The tenant's ingest rate limit and backlog share bind here exactly as on REST (see
:mod:`~ragline_gateway.domain.ingest_admission`). A message over them is not refused for good:
it comes back after a delay (``TransientProcessingError``), and since the delayed copy leaves the
queue meanwhile, the other tenants' messages are not held up behind it.

A producer that set the AMQP ``reply_to`` and ``correlation_id`` properties is answered on that
queue with the job to poll (``GET /v1/jobs/{job_id}``) or with the refusal. The answer is a
courtesy: the jobs API stays the record, so a reply that cannot be delivered is only logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from pydantic import ValidationError

from ragline_common.consuming import MessageConsumer, route, undecoded
from ragline_common.errors import (
    Conflict,
    PermanentProcessingError,
    RaglineError,
    RateLimited,
    TransientProcessingError,
    UpstreamUnavailable,
)
from ragline_common.ports.broker import Broker, Delivery
from ragline_common.tenancy import Scope, TenantId
from ragline_common.topology import QueueName
from ragline_gateway.domain import api_keys
from ragline_gateway.domain.authentication import KeyLookup, authenticate, require_scope
from ragline_gateway.domain.dispatch import JobDispatcher
from ragline_gateway.domain.ingest_admission import IngestAdmission
from ragline_gateway.domain.intake_message import (
    HEADER_API_KEY,
    IntakeDocumentV1,
    max_message_bytes,
    upload_of,
)
from ragline_gateway.domain.uploads import submit_upload
from ragline_gateway.ports.catalog import DocumentDraft, DocumentStore, Submission

_log = structlog.get_logger(__name__)

UploadQuota = Callable[[TenantId, DocumentDraft], Awaitable[None]]
"""Raises ``QuotaExceeded`` when the tenant may not store this upload."""
_INGEST = frozenset({Scope.INGEST})
_MAX_DETAIL_CHARS = 1000
_KEY_BODY_CHARS = api_keys.KEY_LENGTH - len(api_keys.KEY_PREFIX)
_KEY_SHAPE = re.compile(rf"{re.escape(api_keys.KEY_PREFIX)}[0-9A-Za-z]{{{_KEY_BODY_CHARS}}}")


class IntakeCatalog(KeyLookup, DocumentStore, Protocol):
    """What the queue drop needs: the key a message presents, and the documents it adds."""


class IntakeHandler:
    """Consumer of the intake queue (see the module docstring for the policy)."""

    def __init__(
        self,
        *,
        catalog: IntakeCatalog,
        broker: Broker,
        dispatcher: JobDispatcher,
        key_pepper: bytes,
        admin_token: str,
        max_upload_bytes: int,
        quota: UploadQuota | None = None,
        admission: IngestAdmission | None = None,
    ) -> None:
        self._quota = quota
        self._admission = admission
        self._catalog = catalog
        self._broker = broker
        self._dispatcher = dispatcher
        self._key_pepper = key_pepper
        self._admin_token = admin_token
        self._max_upload_bytes = max_upload_bytes
        # The upload's trace starts at the producer's message (its traceparent, if it sent
        # one); the job keeps this span's context, so a late publish joins the same trace.
        # The body is read in ``_submit``, once the key is authenticated.
        self._consume = MessageConsumer(
            QueueName.INTAKE, [route(Delivery, self._handle)], decode=undecoded
        )

    async def __call__(self, delivery: Delivery) -> None:
        await self._consume(delivery)

    async def _handle(self, delivery: Delivery) -> None:
        try:
            submission = await self._accept(delivery)
        except PermanentProcessingError as exc:
            refusal = PermanentProcessingError(
                _redact(exc.detail), code=exc.code, tenant_id=exc.tenant_id
            )
            _log.warning("intake_rejected", code=refusal.code, reason=refusal.detail[:200])
            await self._reply(delivery, {"error": {"code": refusal.code, "detail": refusal.detail}})
            raise refusal from None
        await self._reply(
            delivery,
            {
                "document_id": submission.document.id,
                "job_id": submission.job.id,
                "version": submission.job.version,
                "status": submission.job.status.value,
                "duplicate": not submission.created,
            },
        )

    async def _accept(self, delivery: Delivery) -> Submission:
        limit = max_message_bytes(self._max_upload_bytes)
        if len(delivery.body) > limit:
            raise PermanentProcessingError(
                f"the message has {len(delivery.body)} bytes; at most {limit} are accepted",
                code="payload_too_large",
            )
        token = delivery.headers.get(HEADER_API_KEY)
        if not token:
            raise PermanentProcessingError(
                f"send a tenant API key in the '{HEADER_API_KEY}' header", code="missing_api_key"
            )
        try:
            principal = await authenticate(
                token,
                catalog=self._catalog,
                key_pepper=self._key_pepper,
                admin_token=self._admin_token,
            )
            tenant_id = require_scope(principal, _INGEST)
        except UpstreamUnavailable as exc:
            raise TransientProcessingError(exc.detail) from exc
        except RaglineError as exc:
            # Fixed texts from authentication: they name the problem, never the key.
            raise PermanentProcessingError(exc.detail, code=exc.code) from None
        with structlog.contextvars.bound_contextvars(tenant_id=tenant_id):
            await self._admit(tenant_id, principal.key_id)
            try:
                return await self._submit(delivery, tenant_id)
            except PermanentProcessingError as exc:
                # Authenticated: the dead letter belongs to this tenant and shows in its list.
                raise PermanentProcessingError(
                    exc.detail, code=exc.code, tenant_id=tenant_id
                ) from None

    async def _admit(self, tenant_id: TenantId, key_id: str | None) -> None:
        """The tenant's rate limit and backlog share: over either, the message waits."""
        if self._admission is None:
            return
        try:
            await self._admission.admit(tenant_id, key_id)
        except (RateLimited, UpstreamUnavailable) as exc:
            _log.info("intake_deferred", code=exc.code)
            raise TransientProcessingError(exc.detail) from exc

    async def _submit(self, delivery: Delivery, tenant_id: TenantId) -> Submission:
        try:
            message = IntakeDocumentV1.model_validate_json(delivery.body)
        except ValidationError as exc:
            raise PermanentProcessingError(_describe(exc), code="invalid_message") from None
        draft, content = upload_of(message, max_upload_bytes=self._max_upload_bytes)
        try:
            if self._quota is not None:
                # The same storage quotas as REST uploads; exceeded: dead-lettered with the code.
                await self._quota(tenant_id, draft)
            submission = await submit_upload(
                self._catalog, self._dispatcher, tenant_id, draft, content
            )
        except (UpstreamUnavailable, Conflict) as exc:
            # The catalog or broker is down, or a concurrent upload won a race: try later.
            raise TransientProcessingError(exc.detail) from exc
        except RaglineError as exc:
            raise PermanentProcessingError(exc.detail, code=exc.code) from None
        _log.info(
            "intake_accepted",
            document_id=submission.document.id,
            job_id=submission.job.id,
            duplicate=not submission.created,
        )
        return submission

    async def _reply(self, delivery: Delivery, answer: dict[str, object]) -> None:
        if not delivery.reply_to or not delivery.correlation_id:
            return
        try:
            await self._broker.publish_reply(
                delivery.reply_to, delivery.correlation_id, json.dumps(answer).encode()
            )
        except (UpstreamUnavailable, ValueError) as exc:
            _log.warning("intake_reply_undeliverable", error_type=type(exc).__name__)


def _redact(detail: str) -> str:
    """Belt and braces: a key-shaped string (say, a key used as a metadata name) never leaves."""
    return _KEY_SHAPE.sub("[redacted]", detail)


def _describe(exc: ValidationError) -> str:
    """Field and problem per error, never the offending value (it may be document text)."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'message'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    )
    return f"invalid message: {problems}"[:_MAX_DETAIL_CHARS]
