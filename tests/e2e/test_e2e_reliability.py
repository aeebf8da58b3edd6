"""Nothing lost, nothing twice: uploads survive a killed worker, a restarted RabbitMQ and SIGTERM.

Real processes on the real RabbitMQ, PostgreSQL and Redis, with the hash embedder (the real model
is covered elsewhere; here only the plumbing is on trial). After each ordeal the worker is
stopped and its Qdrant Edge shard read directly, unfiltered, to prove that every accepted
document has exactly its chunks, once, under its own tenant, and nothing else is there.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest
from ragline_e2e_harness import Client, TenantKeys
from ragline_e2e_stack import Stack, all_stored_points, start_stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SHUTDOWN_GRACE_S = 5.0
UPLOAD_WORKERS = 4
INDEX_TIMEOUT_S = 120.0
UPLOAD_MAX_S = 5.0
"""No upload may take this long, broker outage or not (publishes time out after 10 s)."""


@pytest.fixture(scope="module")
def stack(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(
        postgres_url,
        tmp_path_factory.mktemp("reliability"),
        extra_env={
            "RAGLINE_SHUTDOWN_GRACE_S": str(SHUTDOWN_GRACE_S),
            "RAGLINE_INGESTION_CONCURRENCY": "8",
            # Eight one-chunk documents never fill an embedding window, so each waits for the
            # window's deadline: with the hash embedder a document is otherwise done within
            # milliseconds, and the drain test would find nothing in flight to finish.
            "RAGLINE_INGESTION_EMBED_BATCH_WAIT_MS": "300",
        },
    )
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Ledger:
    """What the client was promised: every 202, by tenant; and what the outage cost it."""

    tenants: dict[str, TenantKeys]
    accepted: dict[str, tuple[str, str]] = field(default_factory=dict)
    """document id -> (tenant id, job id), for every 202."""
    unavailable: int = 0
    """503 answers, retried like a client would (a 503 is not a 202)."""
    slowest_s: float = 0.0
    """The longest any upload request took: a broker outage must not make uploads hang."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    held_from: int | None = None
    """Uploads numbered from here wait for ``released``: they are kept for the disturbance."""
    released: threading.Event = field(default_factory=threading.Event)

    def key_of(self, tenant_id: str) -> str:
        return self.tenants[tenant_id].key


def new_tenants(client: Client, admin_token: str, label: str) -> dict[str, TenantKeys]:
    pair = (
        client.create_tenant(admin_token, f"{label}-a"),
        client.create_tenant(admin_token, f"{label}-b"),
    )
    return {tenant.tenant_id: tenant for tenant in pair}


def upload_all(client: Client, ledger: Ledger, count: int, label: str) -> None:
    """Upload ``count`` short documents over both tenants, retrying 503s like a client would."""
    tenant_ids = sorted(ledger.tenants)

    def upload(number: int) -> None:
        if ledger.held_from is not None and number >= ledger.held_from:
            assert ledger.released.wait(INDEX_TIMEOUT_S), "the disturbance never released"
        tenant_id = tenant_ids[number % len(tenant_ids)]
        body = {
            "title": f"{label} note {number}",
            "text": f"Note {number} of run {label} for tenant {tenant_id}. " * 3,
        }
        for _ in range(200):
            started = time.monotonic()
            try:
                response = client.call("POST", "/v1/documents", ledger.key_of(tenant_id), json=body)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            with ledger.lock:
                ledger.slowest_s = max(ledger.slowest_s, time.monotonic() - started)
            if response.status_code == 503:
                with ledger.lock:
                    ledger.unavailable += 1
                time.sleep(0.5)
                continue
            assert response.status_code == 202, response.text
            accepted = response.json()
            with ledger.lock:
                ledger.accepted[accepted["document_id"]] = (tenant_id, accepted["job_id"])
            return
        raise AssertionError(f"upload {number} never accepted")

    with ThreadPoolExecutor(UPLOAD_WORKERS) as pool:
        for future in [pool.submit(upload, number) for number in range(count)]:
            future.result()


def unfinished(client: Client, ledger: Ledger) -> dict[str, str]:
    """Accepted documents not yet indexed, with their status (failed ones fail the test)."""
    statuses: dict[str, str] = {}
    for tenant in ledger.tenants.values():
        offset: int | None = 0
        while offset is not None:
            page = client.call(
                "GET", "/v1/documents", tenant.key, params={"limit": 200, "offset": offset}
            )
            assert page.status_code == 200, page.text
            body = page.json()
            statuses.update({doc["id"]: doc["status"] for doc in body["documents"]})
            offset = body["next_offset"]
    failed = {doc: status for doc, status in statuses.items() if status == "failed"}
    assert not failed.keys() & ledger.accepted.keys(), f"accepted documents failed: {failed}"
    return {
        doc: statuses.get(doc, "missing")
        for doc in ledger.accepted
        if statuses.get(doc) != "indexed"
    }


def wait_all_indexed(client: Client, ledger: Ledger) -> None:
    deadline = time.monotonic() + INDEX_TIMEOUT_S
    while remaining := unfinished(client, ledger):
        assert time.monotonic() < deadline, f"{len(remaining)} never indexed: {remaining}"
        time.sleep(0.5)


def every_tenant_document(client: Client, tenants: list[TenantKeys]) -> dict[str, str]:
    """document id -> tenant id, for every document the catalog knows of these tenants."""
    owners: dict[str, str] = {}
    for tenant in tenants:
        offset: int | None = 0
        while offset is not None:
            body = client.call(
                "GET", "/v1/documents", tenant.key, params={"limit": 200, "offset": offset}
            ).json()
            owners.update({doc["id"]: tenant.tenant_id for doc in body["documents"]})
            offset = body["next_offset"]
    return owners


def check_store(
    stack: Stack, client: Client, ledger: Ledger, all_tenants: list[TenantKeys]
) -> None:
    """Every accepted document has exactly its chunks, once, under its tenant; nothing else."""
    chunk_counts = {}
    for document_id, (tenant_id, job_id) in ledger.accepted.items():
        job = client.call("GET", f"/v1/jobs/{job_id}", ledger.key_of(tenant_id)).json()
        assert job["status"] == "indexed" and job["document_id"] == document_id, job
        chunk_counts[document_id] = job["chunk_count"]
    owners = every_tenant_document(client, all_tenants)
    assert set(ledger.accepted) <= set(owners)
    # One document per 202: nothing was recorded twice.
    tested = {tenant.tenant_id for tenant in ledger.tenants.values()}
    assert {doc for doc, owner in owners.items() if owner in tested} == set(ledger.accepted)

    stack.worker.stop()  # the shard admits one process
    try:
        chunks: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for point_id, payload in all_stored_points(stack.vectors_dir):
            document_id = payload["document_id"]
            assert document_id in owners, f"orphan chunk {point_id}: {payload}"
            assert payload["tenant_id"] == owners[document_id], f"{point_id} under wrong tenant"
            chunks[document_id].append((payload["version"], payload["chunk_index"]))
    finally:
        stack.restart_worker()
    for document_id, count in chunk_counts.items():
        stored = sorted(chunks[document_id])
        assert stored == [(1, index) for index in range(count)], (document_id, stored, count)


def run_with(
    stack: Stack,
    label: str,
    disturb: Callable[[Ledger], None],
    count: int,
    held_from: int | None = None,
) -> Ledger:
    """Upload ``count`` documents while ``disturb`` runs beside, then wait for all of them.

    With ``held_from``, uploads from that number on wait until ``disturb`` releases them, so
    some are sure to meet it however fast the others went.
    """
    client = Client(stack.url)
    ledger = Ledger(new_tenants(client, stack.admin_token, label), held_from=held_from)
    failures: list[BaseException] = []

    def guarded_upload() -> None:
        try:
            upload_all(client, ledger, count, label)
        except BaseException as exc:
            failures.append(exc)

    uploader = threading.Thread(target=guarded_upload)
    uploader.start()
    try:
        disturb(ledger)
    finally:
        ledger.released.set()
        uploader.join(timeout=INDEX_TIMEOUT_S)
    assert not failures, failures
    assert len(ledger.accepted) == count
    wait_all_indexed(client, ledger)
    client.close()
    return ledger


@pytest.fixture(scope="module")
def all_tenants() -> list[TenantKeys]:
    """Tenants of every test in this module: the store holds all of their chunks."""
    return []


def test_a_worker_killed_three_times_loses_and_duplicates_nothing(
    stack: Stack, all_tenants: list[TenantKeys]
) -> None:
    def kill_three_times(ledger: Ledger) -> None:
        for accepted_before_kill in (20, 80, 140):
            while len(ledger.accepted) < accepted_before_kill:
                time.sleep(0.05)
            time.sleep(0.5)  # some of them are in the worker's hands by now
            stack.kill_worker()
            stack.restart_worker()

    ledger = run_with(stack, "kill", kill_three_times, count=200)
    all_tenants.extend(ledger.tenants.values())
    client = Client(stack.url)
    check_store(stack, client, ledger, all_tenants)
    client.close()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


def test_a_rabbitmq_restart_mid_run_loses_and_duplicates_nothing(
    stack: Stack, all_tenants: list[TenantKeys]
) -> None:
    """Every process reconnects by itself and consumes again; no upload hangs meanwhile."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not available to restart RabbitMQ")

    def restart_rabbitmq(ledger: Ledger) -> None:
        while len(ledger.accepted) < 60:
            time.sleep(0.05)
        rabbitmqctl("stop_app")
        try:
            ledger.released.set()  # the held uploads meet the outage
            time.sleep(3)
        finally:
            rabbitmqctl("start_app")

    ledger = run_with(stack, "rabbit", restart_rabbitmq, count=200, held_from=100)
    all_tenants.extend(ledger.tenants.values())
    # Uploads went on during the outage (the catalog is the durable record) and none hung:
    # the gateway found the broker disconnected at once and dispatched the jobs afterwards.
    assert ledger.slowest_s < UPLOAD_MAX_S, ledger.slowest_s
    assert "dispatch_deferred" in stack.gateway.log_path.read_text(), "the outage met no upload"
    client = Client(stack.url)
    check_store(stack, client, ledger, all_tenants)
    client.close()


def test_sigterm_drains_the_worker_within_its_grace_period(
    stack: Stack, all_tenants: list[TenantKeys]
) -> None:
    """Mid-run SIGTERM: in-flight work is finished or handed back, within the grace period."""
    stopped: dict[str, float | bool] = {}
    shutdown_log: list[str] = []

    def terminate_mid_run(ledger: Ledger) -> None:
        while len(ledger.accepted) < 30:
            time.sleep(0.05)
        with stack.worker.log_path.open("rb") as log:
            log.seek(0, 2)
            started = time.monotonic()
            stopped["clean"] = stack.worker.stop(timeout_s=SHUTDOWN_GRACE_S * 3)
            stopped["seconds"] = time.monotonic() - started
            shutdown_log.append(log.read().decode(errors="replace"))
        stack.restart_worker()

    ledger = run_with(stack, "drain", terminate_mid_run, count=100)
    all_tenants.extend(ledger.tenants.values())
    assert stopped["clean"], "the worker did not shut down cleanly"
    assert stopped["seconds"] < SHUTDOWN_GRACE_S + 2, stopped
    drained = shutdown_log[0].split('"services_stopping"')[1].split('"broker_closed"')[0]
    assert '"document_indexed"' in drained, "no in-flight document was finished while draining"
    client = Client(stack.url)
    check_store(stack, client, ledger, all_tenants)
    client.close()
