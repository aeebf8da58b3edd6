"""One upload is one trace and one query is one trace, across separate processes.

The microservices stack (gateway, generation, and the retrieval+ingestion worker, on the real
RabbitMQ and PostgreSQL) exports spans over OTLP/HTTP to a receiver in this test, configured by
``OTEL_EXPORTER_OTLP_ENDPOINT`` alone, as a deployment would point at its collector. Generation
talks to a fake OpenAI-compatible server, so the query takes the real LLM path. Each tenant's
dispatch window is one job, so an upload made while another is in flight waits in the catalog
and is published later, from the gateway's handling of a job-status event (or its sweeper).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import pytest
from ragline_e2e_harness import Client, TenantKeys
from ragline_e2e_stack import Stack, start_stack
from ragline_e2e_telemetry import (
    COMPLETION_TOKENS,
    PROMPT_TOKENS,
    FakeChatServer,
    OtlpReceiver,
    ReceivedSpan,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

GATEWAY = "ragline-gateway"
WORKER = "ragline-ingestion-retrieval"
GENERATION = "ragline-generation"
LLM_MODEL = "fake-llm"
UPLOAD_STAGES = ("ingest.parse", "ingest.chunk", "ingest.embed", "ingest.upsert")
JOB_EVENTS = "ragline.gateway.job-events process"


@dataclass
class TracedStack:
    stack: Stack
    receiver: OtlpReceiver
    client: Client
    tenant: TenantKeys


@pytest.fixture(scope="module")
def traced(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TracedStack]:
    receiver = OtlpReceiver()
    llm = FakeChatServer(LLM_MODEL)
    with receiver.running() as otlp_url, llm.running() as llm_url:
        stack = start_stack(
            postgres_url,
            tmp_path_factory.mktemp("traces"),
            extra_env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "RAGLINE_LLM_BASE_URL": llm_url,
                "RAGLINE_LLM_MODEL": LLM_MODEL,
                "RAGLINE_GATEWAY_TENANT_JOBS_IN_FLIGHT": "1",
            },
        )
        client = Client(stack.url)
        try:
            tenant = client.create_tenant(stack.admin_token, "traced")
            yield TracedStack(stack, receiver, client, tenant)
        finally:
            client.close()
            stack.stop()


def _root(receiver: OtlpReceiver, service: str, name: str, tenant_id: str) -> ReceivedSpan:
    def find() -> list[ReceivedSpan]:
        return [
            span
            for span in receiver.spans
            if span.service == service
            and span.name == name
            and span.attributes.get("tenant.id") == tenant_id
        ]

    receiver.wait_for(lambda: len(find()) == 1, what=f"{service} {name}")
    return find()[0]


def _complete_tree(spans: list[ReceivedSpan], expected: set[str]) -> bool:
    ids = {span.span_id for span in spans}
    return expected <= {span.name for span in spans} and all(
        span.parent_id is None or span.parent_id in ids for span in spans
    )


def _trace_complete(receiver: OtlpReceiver, trace_id: str, expected: set[str]) -> bool:
    return _complete_tree(receiver.trace(trace_id), expected)


def _has_span(receiver: OtlpReceiver, trace_id: str, span_id: str) -> bool:
    return any(span.span_id == span_id for span in receiver.trace(trace_id))


def _assert_single_tree(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    """Exactly one root, every other span's parent present; returns spans by id."""
    by_id = {span.span_id: span for span in spans}
    roots = [span for span in spans if span.parent_id is None]
    assert len(roots) == 1, f"{len(roots)} roots: {[span.name for span in roots]}"
    orphans = [span.name for span in spans if span.parent_id and span.parent_id not in by_id]
    assert not orphans, f"spans whose parent is not in the trace: {orphans}"
    return by_id


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain: list[ReceivedSpan] = []
    while span.parent_id is not None:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


def _one(spans: list[ReceivedSpan], name: str, service: str | None = None) -> ReceivedSpan:
    found = [s for s in spans if s.name == name and (service is None or s.service == service)]
    assert len(found) == 1, f"{len(found)} spans named {name!r} ({service}): {found}"
    return found[0]


def test_an_upload_is_one_trace_from_gateway_through_the_queue_to_the_worker(
    traced: TracedStack,
) -> None:
    upload = traced.client.upload_text(
        traced.tenant.key, "Reactor", "The Zorblax reactor produces 42 megawatts of power."
    )
    traced.client.wait_indexed(traced.tenant.key, upload["job_id"])
    root = _root(traced.receiver, GATEWAY, "POST /v1/documents", traced.tenant.tenant_id)
    expected = {"ragline.commands publish", "ragline.ingestion process", JOB_EVENTS, *UPLOAD_STAGES}
    traced.receiver.wait_for(
        lambda: _complete_tree(traced.receiver.trace(root.trace_id), expected),
        what="the whole upload trace",
    )
    spans = traced.receiver.trace(root.trace_id)
    by_id = _assert_single_tree(spans)

    assert root.parent_id is None and root.kind == "server"
    publish = _one(spans, "ragline.commands publish", GATEWAY)
    assert publish.kind == "producer"
    assert root in _ancestors(publish, by_id)
    process = _one(spans, "ragline.ingestion process", WORKER)
    assert process.kind == "consumer"
    assert process.parent_id == publish.span_id, "the worker must continue the publish span"
    for stage in UPLOAD_STAGES:
        span = _one(spans, stage, WORKER)
        assert process in _ancestors(span, by_id), f"{stage} is not under the consumer span"
    for span in (root, publish, process, _one(spans, "ingest.embed")):
        assert span.attributes.get("tenant.id") == traced.tenant.tenant_id, span.name
    # The gateway applies the worker's status events inside the same trace.
    status_handling = [span for span in spans if span.name == JOB_EVENTS]
    for span in status_handling:
        assert (span.service, span.kind) == (GATEWAY, "consumer")
        assert process in _ancestors(span, by_id), "job events continue the worker's trace"

    # The gateway's log lines of this request carry its trace and span ids.
    lines = [
        json.loads(line)
        for line in traced.stack.gateway.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    request_lines = [
        line
        for line in lines
        if line.get("event") == "http_request" and line.get("route") == "/v1/documents"
    ]
    assert any(
        line.get("trace_id") == root.trace_id and line.get("span_id") for line in request_lines
    ), request_lines
    worker_lines = [
        json.loads(line)
        for line in traced.stack.worker.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(line.get("trace_id") == root.trace_id for line in worker_lines)


def test_an_upload_that_waits_for_the_dispatch_window_is_still_one_trace(
    traced: TracedStack,
) -> None:
    """Uploads sent together: one goes out in its request, the rest wait for the window (1)."""
    tenant = traced.client.create_tenant(traced.stack.admin_token, "traced-window")
    texts = [f"Waiting document {i} describes the Quorvath valve number {i}." for i in range(4)]
    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        uploads = list(
            pool.map(lambda text: traced.client.upload_text(tenant.key, "Valve", text), texts)
        )
    for upload in uploads:
        traced.client.wait_indexed(tenant.key, upload["job_id"])

    def roots() -> list[ReceivedSpan]:
        return [
            span
            for span in traced.receiver.spans
            if span.service == GATEWAY
            and span.name == "POST /v1/documents"
            and span.attributes.get("tenant.id") == tenant.tenant_id
        ]

    traced.receiver.wait_for(lambda: len(roots()) == len(texts), what="the upload requests")
    expected = {"gateway.dispatch", "ragline.commands publish", "ragline.ingestion process"}
    expected |= set(UPLOAD_STAGES)
    late = 0
    for root in roots():
        traced.receiver.wait_for(
            partial(_trace_complete, traced.receiver, root.trace_id, expected),
            what="the whole upload trace",
        )
        spans = traced.receiver.trace(root.trace_id)
        by_id = _assert_single_tree(spans)
        dispatch = _one(spans, "gateway.dispatch", GATEWAY)
        assert dispatch.parent_id == root.span_id, "a job is dispatched as part of its upload"
        publish = _one(spans, "ragline.commands publish", GATEWAY)
        assert publish.parent_id == dispatch.span_id
        process = _one(spans, "ragline.ingestion process", WORKER)
        assert process.parent_id == publish.span_id
        for stage in UPLOAD_STAGES:
            assert process in _ancestors(_one(spans, stage, WORKER), by_id), stage
        late += dispatch.start_ns > root.end_ns
        # What made the job go out (another upload's status event or request) is a link.
        for trace_id, span_id in dispatch.links:
            assert trace_id != root.trace_id
            traced.receiver.wait_for(
                partial(_has_span, traced.receiver, trace_id, span_id),
                what="the span that freed the slot",
            )
            [trigger] = [s for s in traced.receiver.trace(trace_id) if s.span_id == span_id]
            assert trigger.service == GATEWAY
            assert trigger.name in {JOB_EVENTS, "POST /v1/documents"}, trigger.name
    assert late >= 1, "no upload waited for the window: the test did not test that path"


def test_a_query_is_one_trace_through_gateway_retrieval_and_generation(
    traced: TracedStack,
) -> None:
    response = traced.client.call(
        "POST",
        "/v1/query",
        traced.tenant.key,
        json={"query": "How much power does the Zorblax reactor produce?"},
    )
    assert response.status_code == 200, response.text
    root = _root(traced.receiver, GATEWAY, "POST /v1/query", traced.tenant.tenant_id)

    def llm_span_arrived() -> bool:
        spans = traced.receiver.trace(root.trace_id)
        return _complete_tree(spans, {"retrieval.search", "retrieval.embed"}) and any(
            span.attributes.get("gen_ai.operation.name") for span in spans
        )

    traced.receiver.wait_for(llm_span_arrived, what="the whole query trace")
    spans = traced.receiver.trace(root.trace_id)
    by_id = _assert_single_tree(spans)

    search = _one(spans, "retrieval.search", WORKER)
    retrieval_server = next(s for s in _ancestors(search, by_id) if s.kind == "server")
    assert retrieval_server.service == WORKER
    caller = by_id[retrieval_server.parent_id or ""]
    assert (caller.service, caller.kind) == (GATEWAY, "client"), "gateway -> retrieval hop"
    assert root in _ancestors(search, by_id)
    embed = _one(spans, "retrieval.embed", WORKER)
    assert retrieval_server in _ancestors(embed, by_id)

    [llm] = [span for span in spans if span.attributes.get("gen_ai.operation.name")]
    assert llm.service == GENERATION and llm.kind == "client"
    assert llm.name == f"chat {LLM_MODEL}"
    assert llm.attributes["gen_ai.request.model"] == LLM_MODEL
    assert llm.attributes["gen_ai.usage.input_tokens"] == PROMPT_TOKENS
    assert llm.attributes["gen_ai.usage.output_tokens"] == COMPLETION_TOKENS
    generation_server = next(s for s in _ancestors(llm, by_id) if s.kind == "server")
    assert generation_server.service == GENERATION
    assert by_id[generation_server.parent_id or ""].service == GATEWAY, "gateway -> generation"
    assert root in _ancestors(llm, by_id)
    for span in (root, retrieval_server, search, generation_server, llm):
        assert span.attributes.get("tenant.id") == traced.tenant.tenant_id, span.name
