"""The console's static files at ``/console``: strict CSP, SPA fallback, caching, no traversal."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ragline_gateway.api.console import CONSOLE_CSP, source_tree_dist
from ragline_gateway.settings import GatewaySettings

INDEX = b'<!doctype html><html><head><script type="module" src="/console/assets/app-1a2b.js">'
SCRIPT = b"console.log('app')"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    built = tmp_path / "console-dist"
    (built / "assets").mkdir(parents=True)
    (built / "index.html").write_bytes(INDEX)
    (built / "assets" / "app-1a2b.js").write_bytes(SCRIPT)
    (built / "favicon.svg").write_bytes(b"<svg/>")
    (tmp_path / "secret.txt").write_bytes(b"not for the browser")
    (built / "assets" / "escape.txt").symlink_to(tmp_path / "secret.txt")
    return built


@pytest.fixture
def gateway_settings(dist: Path) -> GatewaySettings:
    return GatewaySettings(max_upload_bytes=64 * 1024, console_dist=dist)


def _assert_console_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_files_are_served_with_the_strict_csp_and_cached_by_kind(
    client: httpx.AsyncClient,
) -> None:
    index = await client.get("/console/")
    assert index.status_code == 200
    assert index.content == INDEX
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    _assert_console_headers(index)

    script = await client.get("/console/assets/app-1a2b.js")
    assert script.status_code == 200
    assert script.content == SCRIPT
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    _assert_console_headers(script)

    icon = await client.get("/console/favicon.svg")
    assert (icon.status_code, icon.headers["cache-control"]) == (200, "no-cache")

    head = await client.head("/console/assets/app-1a2b.js")
    assert head.status_code == 200
    assert head.content == b""


async def test_app_routes_fall_back_to_index_html(client: httpx.AsyncClient) -> None:
    for path in ("/console/documents", "/console/documents/doc_123", "/console/tenants/t/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.content == INDEX
        assert response.headers["cache-control"] == "no-cache"
        _assert_console_headers(response)
    bare = await client.get("/console")
    assert (bare.status_code, bare.headers["location"]) == (308, "/console/")


async def test_missing_files_are_404_not_html_under_a_scripts_name(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/console/assets/gone-9f9f.js", "/console/robots.txt", "/console/assets/"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.content != INDEX
        _assert_console_headers(response)


@pytest.mark.parametrize(
    "path",
    [
        "/console/..%2Fsecret.txt",
        "/console/assets/..%2F..%2Fsecret.txt",
        "/console/%2E%2E/secret.txt",
        "/console//etc/passwd",
        "/console/..%5Csecret.txt",
        "/console/assets/escape.txt",
    ],
)
async def test_nothing_outside_the_build_is_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404, path
    assert b"not for the browser" not in response.content
    assert b"root:" not in response.content


async def test_the_api_keeps_its_own_csp(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/whoami")
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )


class TestNotBuilt:
    @pytest.fixture
    def gateway_settings(self, tmp_path: Path) -> GatewaySettings:
        return GatewaySettings(max_upload_bytes=64 * 1024, console_dist=tmp_path / "nothing")

    async def test_an_unbuilt_console_is_a_404_page_that_says_how_to_build_it(
        self, client: httpx.AsyncClient
    ) -> None:
        for path in ("/console/", "/console/documents"):
            response = await client.get(path)
            assert response.status_code == 404
            assert "console not built: run <code>make console</code>" in response.text
            _assert_console_headers(response)


def test_the_source_tree_default_is_the_checkouts_console_dist() -> None:
    default = source_tree_dist()
    assert default is not None
    assert default.parent.name == "console"
    assert (default.parents[1] / "services" / "gateway" / "src" / "ragline_gateway").is_dir()
