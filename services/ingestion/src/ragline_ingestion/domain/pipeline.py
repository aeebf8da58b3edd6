"""Index one document version: parse -> chunk -> embed -> upsert -> report.

Failure policy, decided by exception type (the broker settles the message accordingly):

- the document itself is at fault (undecodable, empty, too many chunks, unsupported type,
  parser timeout): the job is reported ``failed`` with a human reason and
  ``PermanentProcessingError`` propagates, so the message is dead-lettered, not retried;
- a dependency is down (embedder, vector store, broker): ``TransientProcessingError``, so the
  message comes back after a delay without using up its redelivery budget.

Indexes (issue 15): a request names the model indexes to write (``index_models``; none means
the worker's default). The document is parsed and chunked once; each batch of chunks is then
embedded and upserted per index. A reindex task (``reindex_of``) writes only its target and
reports only its outcome, tagged with ``index_model``, so the gateway counts the reindex's
progress and leaves the document's own job alone. Deletes apply to each index named.

Re-running a job is harmless: point ids derive from (tenant, document, version, chunk index)
and the same bytes give the same chunks, so a redelivery overwrites the very same points.
Older versions are not deleted here: the gateway first switches searches to the new version in
the catalog, then asks for the prune (``document.delete.v1`` with ``keep_version``: versions
below it go, a newer one written meanwhile stays), so no reader ever sees both versions or
neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

import anyio
import anyio.to_thread
import structlog
from opentelemetry import trace

from ragline_common.errors import (
    PermanentProcessingError,
    TransientProcessingError,
    UpstreamUnavailable,
)
from ragline_common.indexing.indexes import Indexes
from ragline_common.indexing.word_sets import word_sketch
from ragline_common.messages import (
    DocumentDeleteRequested,
    DocumentIngestRequested,
    IndexDropRequested,
    JobStatus,
    JobStatusChanged,
    TenantDeleteRequested,
)
from ragline_common.observability.metrics import EMBEDDING_TOKENS, tenant_label
from ragline_common.observability.tracing import inject_context
from ragline_common.ports.broker import Broker
from ragline_common.ports.embedder import Embedder, EmbeddingsWithUsage, ReportsUsage
from ragline_common.ports.sparse_encoder import SparseEncoder
from ragline_common.ports.vector_store import ChunkPayload, ChunkPoint, SparseVector, VectorStore
from ragline_common.topology import ROUTING_JOB_STATUS
from ragline_ingestion.domain.bulk_loads import IdleBulkLoads
from ragline_ingestion.domain.chunking import Chunk, chunk_document
from ragline_ingestion.domain.index_targets import IndexTarget, IndexTargets
from ragline_ingestion.domain.parsing import (
    IN_PROCESS_MEDIA_TYPES,
    ParsedDocument,
    Parser,
    ParserRegistry,
    media_type,
)
from ragline_ingestion.domain.parsing.sandbox import ParseSandbox
from ragline_ingestion.metrics import CHUNKS_INDEXED, DOCUMENTS, EMBED_BATCH_SIZE, STAGE_SECONDS
from ragline_ingestion.settings import IngestionSettings

_log = structlog.get_logger(__name__)
_tracer = trace.get_tracer("ragline.ingestion")

_UNAVAILABLE = (UpstreamUnavailable, ConnectionError, TimeoutError)


@contextmanager
def _upstream(dependency: str) -> Iterator[None]:
    """Turn "the dependency is down" into a delayed retry of the whole message."""
    try:
        yield
    except _UNAVAILABLE as exc:
        detail = exc.detail if isinstance(exc, UpstreamUnavailable) else type(exc).__name__
        raise TransientProcessingError(f"{dependency} unavailable: {detail}") from exc


@contextmanager
def _stage(name: str, **attributes: str | int) -> Iterator[None]:
    started = time.perf_counter()
    with _tracer.start_as_current_span(f"ingest.{name}", attributes=attributes):
        try:
            yield
        finally:
            STAGE_SECONDS.labels(name).observe(time.perf_counter() - started)


class IngestionPipeline:
    def __init__(
        self,
        *,
        settings: IngestionSettings,
        parsers: ParserRegistry,
        embedder: Embedder,
        vector_store: VectorStore,
        broker: Broker,
        sparse_encoder: SparseEncoder | None = None,
        indexes: Indexes | None = None,
        wrap_embedder: Callable[[Embedder], Embedder] | None = None,
        bulk_loads: IdleBulkLoads | None = None,
    ) -> None:
        """``embedder``/``vector_store`` are the default index's; ``indexes`` opens the others
        a request names (without it, only the default exists), and ``wrap_embedder`` is applied
        to each such index's embedder as the component applied it to the default's."""
        self._settings = settings
        # BM25 term weights beside the dense vector, for sparse and hybrid search (ADR 0010).
        self._sparse_encoder = sparse_encoder
        self._parsers = parsers
        self._broker = broker
        self._targets = IndexTargets(IndexTarget(embedder, vector_store), indexes, wrap_embedder)
        # A reindex's writes are a bulk load: its index is built once the rebuild goes quiet.
        self._bulk_loads = bulk_loads
        # Parsing and chunking are CPU-bound and run in threads; at most one per document slot.
        self._cpu = anyio.CapacityLimiter(settings.parse_concurrency)
        self._limits = settings.chunking_limits

    async def ingest(self, request: DocumentIngestRequested) -> None:
        started = time.perf_counter()
        names = (request.reindex_of,) if request.reindex_of else request.index_models
        try:
            with _upstream("vector store"):
                targets = await self._targets.of(
                    names, sent_at=request.occurred_at, rebuilds=request.reindex_of
                )
        except PermanentProcessingError as exc:
            await self._report_failed(request, exc)
            raise
        if not targets:
            # A reindex task whose index was dropped after it was sent: never recreate it.
            await self._publish_status(request, JobStatus.FAILED, reason="its index was dropped")
            return
        newest = await self._newest_version(request, targets)
        if newest is not None and newest > request.version:
            # A late retry of an old version must not replace the newer one.
            await self._report_superseded(request, newest)
            return
        if request.reindex_of is None:
            await self._publish_status(request, JobStatus.PROCESSING)
        try:
            parsed = await self._parse(request)
            chunks = await self._chunk(parsed, targets)
        except PermanentProcessingError as exc:
            await self._report_failed(request, exc)
            raise
        tokens = 0
        for start in range(0, len(chunks), self._settings.upsert_batch_size):
            batch = chunks[start : start + self._settings.upsert_batch_size]
            tokens += await self._index(request, batch, targets)
        # Older versions stay: searches keep showing the catalog's current version until the
        # gateway flips it on this event, and the gateway then asks for the prune.
        DOCUMENTS.labels("indexed").inc()
        # The tenant's usage ledger gets what its upload cost in the index it reads first (the
        # gateway names the active one first); a reindex is the operator's choice, not billed.
        billed = None if request.reindex_of else targets[0].embedder.model_id
        await self._publish_status(
            request,
            JobStatus.INDEXED,
            chunk_count=len(chunks),
            embedding_tokens=None if billed is None else tokens,
            embedding_model=billed,
        )
        _log.info(
            "document_indexed",
            chunk_count=len(chunks),
            text_chars=len(parsed.text),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    async def delete(self, request: DocumentDeleteRequested) -> None:
        with _stage("delete"), _upstream("vector store"):
            targets = await self._targets.of(request.index_models, sent_at=request.occurred_at)
            for target in targets:
                await target.store.delete_document(
                    request.tenant_id, request.document_id, keep_version=request.keep_version
                )
        _log.info(
            "document_chunks_deleted", keep_version=request.keep_version, indexes=len(targets)
        )

    async def delete_tenant(self, request: TenantDeleteRequested) -> None:
        """Erase every chunk of an erased tenant (issue 6: DELETE /v1/tenants/{id})."""
        with _stage("delete"), _upstream("vector store"):
            targets = await self._targets.of(request.index_models, sent_at=request.occurred_at)
            for target in targets:
                await target.store.delete_tenant(request.tenant_id)
        _log.info("tenant_chunks_deleted", indexes=len(targets))

    async def drop_index(self, request: IndexDropRequested) -> None:
        """Delete a retired model's whole index (the operator dropped it after a reindex)."""
        with _upstream("vector store"):
            await self._targets.drop(request.index_model, at=request.occurred_at)
        _log.info("index_dropped", index_model=request.index_model)

    async def _newest_version(
        self, request: DocumentIngestRequested, targets: Sequence[IndexTarget]
    ) -> int | None:
        """The newest version stored in any index written (one look-up with a single index)."""
        versions: list[int] = []
        with _upstream("vector store"):
            for target in targets:
                found = await target.store.newest_version(request.tenant_id, request.document_id)
                if found is not None:
                    versions.append(found)
        return max(versions, default=None)

    async def _parse(self, request: DocumentIngestRequested) -> ParsedDocument:
        parser = self._parsers.parser_for(request.content_type)
        timeout_s = self._settings.parse_timeout_s
        with _stage("parse", content_type=request.content_type, size_bytes=len(request.content)):
            # The timeout starts once a CPU slot is ours: waiting for one is not parsing.
            async with self._cpu:
                if media_type(request.content_type) in IN_PROCESS_MEDIA_TYPES:
                    return await self._parse_in_thread(parser, request.content, timeout_s)
                # A child process per document, capped in memory and killed on timeout: a
                # hostile file costs one failed job, never the worker (see the sandbox module).
                sandbox = ParseSandbox(
                    memory_mb=self._settings.parse_memory_mb, timeout_s=timeout_s
                )
                return await anyio.to_thread.run_sync(
                    sandbox.run, parser, request.content, abandon_on_cancel=True
                )

    @staticmethod
    async def _parse_in_thread(parser: Parser, content: bytes, timeout_s: float) -> ParsedDocument:
        try:
            with anyio.fail_after(timeout_s):
                return await anyio.to_thread.run_sync(parser.parse, content, abandon_on_cancel=True)
        except TimeoutError:
            raise PermanentProcessingError(
                f"parsing took longer than {timeout_s:g} s", code="parse_timeout"
            ) from None
        except PermanentProcessingError:
            raise
        except Exception as exc:
            # Same bytes, same parser, same crash: retrying cannot help.
            _log.warning("document_parser_crashed", error_type=type(exc).__name__)
            raise PermanentProcessingError(
                "the document could not be parsed", code="parse_failed"
            ) from exc

    async def _chunk(self, parsed: ParsedDocument, targets: Sequence[IndexTarget]) -> list[Chunk]:
        count_tokens = targets[0].embedder.count_tokens
        if len(targets) > 1:
            # Chunks are shared by every index, so each must fit every model's token limit.
            counters = [target.embedder.count_tokens for target in targets]

            def count_tokens(text: str) -> int:
                return max(count(text) for count in counters)

        with _stage("chunk"):
            async with self._cpu:
                chunks = await anyio.to_thread.run_sync(
                    partial(
                        chunk_document,
                        parsed,
                        count_tokens=count_tokens,
                        limits=self._limits,
                    )
                )
            trace.get_current_span().set_attribute("ragline.chunk_count", len(chunks))
            return chunks

    async def _index(
        self,
        request: DocumentIngestRequested,
        chunks: Sequence[Chunk],
        targets: Sequence[IndexTarget],
    ) -> int:
        """Embed and write one batch to each target; the first target's embedding tokens."""
        EMBED_BATCH_SIZE.observe(len(chunks))
        sparse: Sequence[SparseVector | None] = [None] * len(chunks)
        if self._sparse_encoder is not None:
            sparse = await self._sparse_encoder.encode_documents([chunk.text for chunk in chunks])
        payloads = [
            ChunkPayload(
                tenant_id=request.tenant_id,
                document_id=request.document_id,
                version=request.version,
                chunk_index=chunk.index,
                text=chunk.text,
                title=request.title,
                source_name=request.source_name,
                content_type=request.content_type,
                heading_path=chunk.heading_path,
                page=chunk.page,
                char_start=chunk.char_start,
                char_end=chunk.char_end,
                metadata=request.metadata,
                word_sketch=word_sketch(chunk.text),
            )
            for chunk in chunks
        ]
        # Parsed, chunked and sparse-encoded once; embedded and written once per index.
        first_tokens: int | None = None
        for target in targets:
            with _stage("embed", batch_size=len(chunks)), _upstream("embedder"):
                embedded = await self._embed(target.embedder, chunks)
            # Billed when spent: a redelivered document costs its tokens again.
            EMBEDDING_TOKENS.labels(target.embedder.model_id, tenant_label(request.tenant_id)).inc(
                embedded.prompt_tokens
            )
            points = [
                ChunkPoint(id=payload.chunk_id, payload=payload, dense=vector, sparse=terms)
                for payload, vector, terms in zip(payloads, embedded.vectors, sparse, strict=True)
            ]
            with _stage("upsert", points=len(points)), _upstream("vector store"):
                if request.reindex_of is not None and self._bulk_loads is not None:
                    await self._bulk_loads.touch(target.store)
                await target.store.upsert(request.tenant_id, points)
            CHUNKS_INDEXED.inc(len(points))
            if first_tokens is None:
                first_tokens = embedded.prompt_tokens
        return first_tokens or 0

    @staticmethod
    async def _embed(embedder: Embedder, chunks: Sequence[Chunk]) -> EmbeddingsWithUsage:
        """Vectors and what they cost: the embedder's own report where it gives one (a remote
        provider, the batcher), else the chunks' sizes, measured with the model's tokenizer."""
        texts = [chunk.text for chunk in chunks]
        if isinstance(embedder, ReportsUsage):
            return await embedder.embed_documents_with_usage(texts)
        vectors = await embedder.embed_documents(texts)
        tokens = sum(chunk.token_count for chunk in chunks)
        return EmbeddingsWithUsage(vectors, prompt_tokens=tokens, estimated=False)

    async def _report_superseded(self, request: DocumentIngestRequested, newest: int) -> None:
        DOCUMENTS.labels("superseded").inc()
        reason = f"superseded by version {newest} of the document"
        _log.info("document_version_superseded", newest_version=newest)
        # A reindex task's document is in its index already, in a newer version: that is done,
        # not failed (a failure would hold the reindex back from switching).
        status = JobStatus.INDEXED if request.reindex_of else JobStatus.FAILED
        await self._publish_status(request, status, reason=reason)

    async def _report_failed(
        self, request: DocumentIngestRequested, exc: PermanentProcessingError
    ) -> None:
        DOCUMENTS.labels("failed").inc()
        _log.warning("document_ingest_failed", reason=exc.detail, code=exc.code)
        await self._publish_status(request, JobStatus.FAILED, reason=exc.detail)

    async def _publish_status(
        self,
        request: DocumentIngestRequested,
        status: JobStatus,
        *,
        chunk_count: int | None = None,
        reason: str | None = None,
        embedding_tokens: int | None = None,
        embedding_model: str | None = None,
    ) -> None:
        event = JobStatusChanged(
            tenant_id=request.tenant_id,
            job_id=request.job_id,
            document_id=request.document_id,
            version=request.version,
            status=status,
            chunk_count=chunk_count,
            reason=reason,
            index_model=request.reindex_of,
            embedding_tokens=embedding_tokens,
            embedding_model=embedding_model,
        )
        with _upstream("broker"):
            await self._broker.publish(
                event, routing_key=ROUTING_JOB_STATUS, headers=inject_context()
            )
