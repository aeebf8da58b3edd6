"""``ragline run`` serves metrics on a second listener and keeps tenant data off the public one."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import httpx
import pytest
from ragline_e2e_harness import Client, RaglineProcess

pytestmark = [pytest.mark.e2e]


def test_a_monolith_serves_tenant_metrics_only_on_its_metrics_port(tmp_path: Path) -> None:
    admin_token = secrets.token_urlsafe(24)
    process = RaglineProcess(
        "all",
        {
            "RAGLINE_DATA_DIR": str(tmp_path / "data"),
            "RAGLINE_ADMIN_TOKEN": admin_token,
            "RAGLINE_EMBEDDER_KIND": "hash",
        },
        tmp_path / "ragline.log",
    ).start()
    client = Client(process.url)
    try:
        tenant = client.create_tenant(admin_token, "metered")
        upload = client.upload_text(tenant.key, "Ducks", "Ducks paddle on the pond at dawn.")
        client.wait_indexed(tenant.key, upload["job_id"])
        assert client.search(tenant.key, "ducks")

        public_metrics = client.call("GET", "/metrics")
        assert public_metrics.status_code == 404, public_metrics.text[:200]
        for path in ("/healthz", "/readyz"):
            response = client.call("GET", path)
            assert response.status_code == 200, (path, response.text)
            assert tenant.tenant_id not in response.text, path

        scraped = httpx.get(f"{process.metrics_url}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert f'tenant="{tenant.tenant_id}"' in scraped.text
        assert "ragline_http_requests_total" in scraped.text
        api_on_metrics_port = httpx.get(f"{process.metrics_url}/healthz", timeout=10)
        assert api_on_metrics_port.status_code == 404
    finally:
        client.close()
        assert process.stop(), process.log_tail()

    with pytest.raises(ConnectionRefusedError), socket.socket() as probe:
        probe.connect(("127.0.0.1", process.metrics_port))
