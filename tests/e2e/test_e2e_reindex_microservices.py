"""Changing the embedding model without downtime across separate processes (issue 15).

The microservices stack (gateway, generation and the retrieval+ingestion worker on RabbitMQ and
PostgreSQL) plus a second gateway replica on the same catalog: the operator API of one replica
starts a reindex ``hash -> onnx-int8`` while clients search through both replicas without pause.
No search may fail; each client sees one model at a time (``hash`` then ``onnx-int8``, never
back); and the switch is seen by every replica within about a second (each caches the active
index for at most 1 s), then the switch back likewise. Few documents, so it stays fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ragline_e2e_harness import Client, RaglineProcess
from ragline_e2e_stack import Stack, start_stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

BUILD_TIMEOUT_S = 300.0
SWITCH_SPREAD_S = 1.6
"""How far apart two clients may first see the new model: the 1 s cache of each replica plus
one search's latency on a shared machine."""
MINILM_KEY = "all-minilm-l6-v2-384"
"""The MiniLM shard's name under the worker's vectors directory."""
TOMBSTONE = f"{MINILM_KEY}.dropped.json"
DOCUMENTS = (
    "The Zorblax reactor at Kestrel Station converts seawater into hydrogen fuel.",
    "Beta Corp sells hand-made oak furniture; tables are finished with linseed oil.",
    "Our bakery opens at six and sells sourdough, rye and croissants every morning.",
    "The football club won the regional cup after a penalty shoot-out in extra time.",
)


class Searcher(threading.Thread):
    """One client searching one replica without pause: (start time, status, model) of each."""

    def __init__(self, url: str, key: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self._url = url
        self._key = key
        self._halt = stop
        self.answers: list[tuple[float, int, str | None]] = []

    def run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=60) as http:
            while not self._halt.is_set():
                started = time.monotonic()
                try:
                    response = http.post(
                        "/v1/search",
                        json={"query": "reactor fuel furniture", "top_k": 3},
                        headers={"Authorization": f"Bearer {self._key}"},
                    )
                except httpx.HTTPError:
                    self.answers.append((started, 0, None))
                    continue
                model = response.json().get("index_model") if response.is_success else None
                self.answers.append((started, response.status_code, model))

    def models(self, since: float = 0.0) -> list[str | None]:
        """The model of each answer asked after ``since``, consecutive repeats collapsed."""
        collapsed: list[str | None] = []
        for started, _, model in self.answers:
            if started >= since and (not collapsed or collapsed[-1] != model):
                collapsed.append(model)
        return collapsed

    def first_asked(self, model: str, since: float) -> float:
        """When this client first asked a search that ``model`` answered, after ``since``."""
        return next(t for t, _, m in self.answers if t >= since and m == model)


@pytest.fixture(scope="module")
def stack(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = start_stack(
        postgres_url,
        tmp_path_factory.mktemp("reindex-micro"),
        extra_env={"RAGLINE_GATEWAY_QUERY_PER_MINUTE": "100000"},
    )
    try:
        yield started
    finally:
        started.stop()


def _replica(stack: Stack) -> RaglineProcess:
    """A second gateway on the same catalog, broker and services (its own port and data dir)."""
    env = {**stack.gateway.env, "RAGLINE_DATA_DIR": str(stack.work / "gateway-2")}
    return RaglineProcess("gateway", env, stack.work / "gateway-2.log").start()


def _row(client: Client, token: str, spec: str) -> dict[str, Any]:
    response = client.call("GET", f"/v1/admin/index-models/{spec}", token)
    assert response.status_code == 200, response.text
    row: dict[str, Any] = response.json()
    return row


def _spread(searchers: list[Searcher], model: str, since: float) -> float:
    firsts = [searcher.first_asked(model, since) for searcher in searchers]
    return max(firsts) - min(firsts)


def test_model_changes_across_processes_without_failed_searches(stack: Stack) -> None:
    replica = _replica(stack)
    stop = threading.Event()
    searchers: list[Searcher] = []
    client = Client(stack.url)
    try:
        token = stack.admin_token
        tenant = client.create_tenant(token, "energy")
        jobs = [client.upload_text(tenant.key, f"Doc {i}", t) for i, t in enumerate(DOCUMENTS)]
        for job in jobs:
            client.wait_indexed(tenant.key, job["job_id"])

        # Two clients on each replica.
        searchers = [
            Searcher(url, tenant.query_only_key, stop)
            for url in (stack.url, replica.url, stack.url, replica.url)
        ]
        for searcher in searchers:
            searcher.start()
        time.sleep(1.0)

        started = client.call("POST", "/v1/admin/index-models", token, json={"model": "onnx-int8"})
        assert started.status_code == 202, started.text
        assert started.json()["total"] == len(DOCUMENTS)
        deadline = time.monotonic() + BUILD_TIMEOUT_S
        row = _row(client, token, "onnx-int8")
        while row["state"] == "building" and time.monotonic() < deadline:
            time.sleep(0.2)
            row = _row(client, token, "onnx-int8")
        assert (row["state"], row["done"], row["failed"]) == ("active", len(DOCUMENTS), 0), row
        time.sleep(2.5)  # every replica's cache (<= 1 s) has expired; keep searching a while

        # Switch back through the other replica, still under load.
        back_at = time.monotonic()
        back = httpx.post(
            f"{replica.url}/v1/admin/index-models/hash/activate",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert back.status_code == 200, back.text
        time.sleep(2.5)
    finally:
        stop.set()
        for searcher in searchers:
            searcher.join(timeout=70)
        client.close()
        assert replica.stop(), replica.log_tail()

    answers = [answer for searcher in searchers for answer in searcher.answers]
    assert len(answers) > 40
    assert {status for _, status, _ in answers} == {200}
    for searcher in searchers:
        # One model at a time per client: hash, then MiniLM, then hash again after switching back.
        assert searcher.models() == ["hash", "onnx-int8", "hash"], searcher.models()
    # Every client (both replicas) saw each switch within about a second of the others.
    assert _spread(searchers, "onnx-int8", 0.0) <= SWITCH_SPREAD_S
    assert _spread(searchers, "hash", back_at) <= SWITCH_SPREAD_S
    assert max(s.first_asked("hash", back_at) for s in searchers) - back_at <= SWITCH_SPREAD_S

    # Dropping MiniLM deletes its shard and leaves a tombstone beside it, so no task still in
    # flight can write it back; searches go on from the hash index.
    dropped = httpx.delete(
        f"{stack.url}/v1/admin/index-models/onnx-int8",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert dropped.status_code == 202, dropped.text
    shard, tombstone = stack.vectors_dir / MINILM_KEY, stack.vectors_dir / TOMBSTONE
    deadline = time.monotonic() + 30
    while (shard.exists() or not tombstone.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not shard.exists() and tombstone.exists()


def test_the_worker_logs_each_index_opened_once(stack: Stack) -> None:
    """The worker opened MiniLM once for the whole reindex (not per task or per message)."""
    log = Path(stack.worker.log_path).read_text(errors="replace")
    assert log.count("index_opened") <= 2, log[-4000:]
