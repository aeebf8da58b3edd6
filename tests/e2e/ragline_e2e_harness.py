"""Start Ragline processes for end-to-end tests and drive the public API like a client would."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ragline_testing import process as testing_process

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
READY_TIMEOUT_S = 180.0


@dataclass
class RaglineProcess(testing_process.RaglineProcess):
    """A Ragline process run from the repository root, as ``make run`` runs it."""

    cwd: Path | None = REPO_ROOT
    ready_timeout_s: float = READY_TIMEOUT_S


@dataclass(frozen=True)
class TenantKeys:
    tenant_id: str
    key: str
    query_only_key: str


class Client:
    """A thin API client: every call returns the raw response so tests can check status codes."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self.http.request(method, path, headers=headers, **kwargs)

    def create_tenant(self, admin_token: str, name: str) -> TenantKeys:
        response = self.call("POST", "/v1/tenants", admin_token, json={"name": name})
        assert response.status_code == 201, response.text
        tenant_id = response.json()["id"]
        keys = []
        for scopes in (["ingest", "query"], ["query"]):
            created = self.call(
                "POST",
                f"/v1/tenants/{tenant_id}/keys",
                admin_token,
                json={"name": "-".join(scopes), "scopes": scopes},
            )
            assert created.status_code == 201, created.text
            keys.append(created.json()["key"])
        return TenantKeys(tenant_id=tenant_id, key=keys[0], query_only_key=keys[1])

    def upload_text(self, key: str, title: str, text: str, **extra: Any) -> dict[str, Any]:
        response = self.call(
            "POST", "/v1/documents", key, json={"title": title, "text": text, **extra}
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def upload_file(self, key: str, path: Path) -> dict[str, Any]:
        response = self.call(
            "POST", "/v1/documents", key, files={"file": (path.name, path.read_bytes())}
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_indexed(self, key: str, job_id: str, timeout_s: float = 180.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            response = self.call("GET", f"/v1/jobs/{job_id}", key)
            assert response.status_code == 200, response.text
            job: dict[str, Any] = response.json()
            if job["status"] == "indexed":
                return job
            assert job["status"] != "failed", job
            time.sleep(0.25)
        raise AssertionError(f"job {job_id} not indexed in {timeout_s}s")

    def search(self, key: str, query: str, top_k: int = 10) -> list[dict[str, Any]]:
        response = self.call("POST", "/v1/search", key, json={"query": query, "top_k": top_k})
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results
