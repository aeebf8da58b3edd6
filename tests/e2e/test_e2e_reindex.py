"""Changing the embedding model without downtime (issue 15), on one ``ragline run`` process.

The process starts on the hash embedder with real documents indexed; ``ragline reindex --model
onnx-int8`` rebuilds the index with MiniLM while several clients search without pause. No
search may fail, and each client sees one model at a time: ``hash`` until the switch, then
``onnx-int8``, never back. After the switch a question that shares no words with its answer
finds it (the hash embedder cannot); switching back works, and so does dropping the new index,
after which switching to it again is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from ragline_e2e_harness import REPO_ROOT, SHARED_DATA, Client, RaglineProcess

pytestmark = [pytest.mark.e2e]

SEARCHERS = 3
BUILD_TIMEOUT_S = 300.0
REACTOR = (
    "The Zorblax reactor at Kestrel Station converts seawater into hydrogen fuel. "
    "It was commissioned in 2031 and produces four megawatts."
)
SEMANTIC_QUESTION = "Which plant makes energy out of the ocean?"
"""Shares no content word with :data:`REACTOR`: only a semantic model ranks it first."""
OTHERS = (
    "Beta Corp sells hand-made oak furniture; tables are finished with linseed oil.",
    "Our bakery opens at six and sells sourdough, rye and croissants every morning.",
    "The football club won the regional cup after a penalty shoot-out in extra time.",
)


class Searcher(threading.Thread):
    """One client searching without pause; records every answer's status and model."""

    def __init__(self, url: str, key: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self._url = url
        self._key = key
        self._halt = stop
        self.answers: list[tuple[int, str | None]] = []

    def run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=60) as http:
            while not self._halt.is_set():
                response = http.post(
                    "/v1/search",
                    json={"query": "reactor fuel furniture", "top_k": 5},
                    headers={"Authorization": f"Bearer {self._key}"},
                )
                model = response.json().get("index_model") if response.is_success else None
                self.answers.append((response.status_code, model))

    def models(self) -> list[str | None]:
        """The model of each answer, consecutive repeats collapsed."""
        collapsed: list[str | None] = []
        for _, model in self.answers:
            if not collapsed or collapsed[-1] != model:
                collapsed.append(model)
        return collapsed


def _row(client: Client, token: str, spec: str) -> dict[str, Any]:
    response = client.call("GET", f"/v1/admin/index-models/{spec}", token)
    assert response.status_code == 200, response.text
    row: dict[str, Any] = response.json()
    return row


def _dense_top(client: Client, key: str, question: str) -> tuple[str, str]:
    response = client.call(
        "POST", "/v1/search", key, json={"query": question, "top_k": 3, "mode": "dense"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return body["index_model"], body["results"][0]["text"]


def test_searches_never_fail_while_the_model_changes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {
        "RAGLINE_DATA_DIR": str(data_dir),
        "RAGLINE_EMBEDDER_KIND": "hash",
        # The searchers ask without pause: far above the default per-key query limit.
        "RAGLINE_GATEWAY_QUERY_PER_MINUTE": "100000",
    }
    ragline = RaglineProcess("all", env, tmp_path / "ragline.log").start()
    try:
        _switch_under_load(ragline, data_dir)
    finally:
        assert ragline.stop(), ragline.log_tail()
    token = (data_dir / "secrets" / "admin-token").read_text().strip()
    assert token not in (tmp_path / "ragline.log").read_text()


def _switch_under_load(ragline: RaglineProcess, data_dir: Path) -> None:
    stop = threading.Event()
    searchers: list[Searcher] = []
    try:
        token = (data_dir / "secrets" / "admin-token").read_text().strip()
        client = Client(ragline.url)
        energy, retail = (
            client.create_tenant(token, "energy"),
            client.create_tenant(token, "retail"),
        )
        uploads = [(energy, client.upload_text(energy.key, "Reactor", REACTOR))]
        uploads.append((energy, client.upload_file(energy.key, SHARED_DATA / "docs/md/duck.md")))
        uploads += [
            (retail, client.upload_text(retail.key, f"Note {i}", t)) for i, t in enumerate(OTHERS)
        ]
        for tenant, upload in uploads:
            client.wait_indexed(tenant.key, upload["job_id"])
        assert _dense_top(client, energy.key, "reactor")[0] == "hash"

        searchers = [
            Searcher(ragline.url, tenant.query_only_key, stop)
            for tenant in (energy, retail, energy)[:SEARCHERS]
        ]
        for searcher in searchers:
            searcher.start()
        time.sleep(1.0)

        # The operator starts the reindex with the CLI (token from the data dir, never printed).
        started = subprocess.run(
            [
                sys.executable,
                "-m",
                "ragline_cli",
                "reindex",
                "--model",
                "onnx-int8",
                "--gateway-url",
                ragline.url,
            ],
            env={**os.environ, "RAGLINE_DATA_DIR": str(data_dir)},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        assert "building" in started.stdout or "active" in started.stdout
        assert token not in started.stdout + started.stderr

        deadline = time.monotonic() + BUILD_TIMEOUT_S
        row = _row(client, token, "onnx-int8")
        while row["state"] == "building" and time.monotonic() < deadline:
            time.sleep(0.5)
            row = _row(client, token, "onnx-int8")
        assert (row["state"], row["done"], row["failed"]) == ("active", len(uploads), 0), row
        time.sleep(2.5)  # every replica's cache (<= 1 s) has expired; keep searching a while
    finally:
        stop.set()
        for searcher in searchers:
            searcher.join(timeout=70)

    answers = [answer for searcher in searchers for answer in searcher.answers]
    assert len(answers) > 20
    assert {status for status, _ in answers} == {200}
    for searcher in searchers:
        # One model at a time: hash until the switch, MiniLM after it, never back.
        assert searcher.models() == ["hash", "onnx-int8"], searcher.models()

    model, top = _dense_top(client, energy.key, SEMANTIC_QUESTION)
    assert (model, top) == ("onnx-int8", REACTOR)

    # Switch back: the previous index is still there, and is read again within a second.
    back = client.call("POST", "/v1/admin/index-models/hash/activate", token)
    assert back.status_code == 200, back.text
    time.sleep(1.5)
    assert _dense_top(client, energy.key, "reactor")[0] == "hash"

    # Drop the MiniLM index; it cannot be switched to any more.
    dropped = client.call("DELETE", "/v1/admin/index-models/onnx-int8", token)
    assert dropped.status_code == 202, dropped.text
    assert dropped.json()["state"] == "dropped"
    refused = client.call("POST", "/v1/admin/index-models/onnx-int8/activate", token)
    assert refused.status_code == 409
    assert refused.json()["code"] == "index_model_dropped"
    assert client.call("POST", "/v1/search", energy.key, json={"query": "x"}).status_code == 200
    client.close()
