"""Internal routes never serve a reachable address without the internal token.

``/internal/...`` trusts the ``tenant_id`` in the body, so a retrieval or generation process
that hosts them without the gateway must either demand ``RAGLINE_INTERNAL_TOKEN`` or listen on
loopback only. Anything else is refused before the process binds a port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from ragline_e2e_harness import RaglineProcess

from ragline_cli.runner import build_app
from ragline_common.http.internal_auth import INTERNAL_TOKEN_HEADER, OpenInternalApiError
from ragline_common.settings import CoreSettings, InfrastructureSettings
from ragline_testing.harness import embedded_settings, unused_port

TOKEN = "internal-token-0123456789abcdef"
ANSWER_BODY = {
    "tenant_id": "tenant_a",
    "request": {"question": "When are refunds paid?", "chunks": []},
}


def settings(tmp_path: Path, host: str, token: str | None = None) -> InfrastructureSettings:
    return embedded_settings(
        CoreSettings(
            host=host,
            data_dir=tmp_path,
            internal_token=SecretStr(token) if token is not None else None,
        )
    )


@pytest.mark.parametrize("targets", [{"retrieval"}, {"generation"}, {"retrieval", "generation"}])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "ragline-retrieval"])
def test_a_reachable_peer_without_a_token_is_refused(
    tmp_path: Path, targets: set[str], host: str
) -> None:
    with pytest.raises(OpenInternalApiError, match="RAGLINE_INTERNAL_TOKEN"):
        build_app(frozenset(targets), settings(tmp_path, host))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.10.0.5", "::1", "localhost", "LOCALHOST"])
def test_a_loopback_peer_may_run_without_a_token(tmp_path: Path, host: str) -> None:
    build_app(frozenset({"retrieval", "generation"}), settings(tmp_path, host))


@pytest.mark.parametrize(
    "targets", [{"gateway", "retrieval", "generation"}, {"ingestion"}, {"gateway"}]
)
def test_processes_without_internal_routes_need_no_token(tmp_path: Path, targets: set[str]) -> None:
    build_app(frozenset(targets), settings(tmp_path, "0.0.0.0"))


def test_the_command_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    """The real ``ragline run``: exit status 2 and the fix, before any port is bound."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("RAGLINE_")}
    env |= {
        "RAGLINE_HOST": "0.0.0.0",
        "RAGLINE_PORT": str(unused_port()),
        "RAGLINE_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "ragline_cli", "run", "--target", "generation"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "RAGLINE_INTERNAL_TOKEN" in result.stderr
    assert "0.0.0.0" in result.stderr


@pytest.mark.e2e
def test_a_loopback_peer_without_a_token_starts(tmp_path: Path) -> None:
    process = RaglineProcess(
        "generation",
        {"RAGLINE_HOST": "127.0.0.1", "RAGLINE_DATA_DIR": str(tmp_path / "data")},
        tmp_path / "generation.log",
    ).start()
    try:
        answer = httpx.post(f"{process.url}/internal/v1/answer", json=ANSWER_BODY, timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        assert process.stop()


async def test_with_a_token_internal_calls_must_present_it(tmp_path: Path) -> None:
    """A public address is fine once the token is set, and then the token is enforced."""
    app = build_app(frozenset({"generation"}), settings(tmp_path, "0.0.0.0", TOKEN))
    async with LifespanManager(app, startup_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://generation") as client:
            refused = await client.post("/internal/v1/answer", json=ANSWER_BODY)
            wrong = await client.post(
                "/internal/v1/answer",
                json=ANSWER_BODY,
                headers={INTERNAL_TOKEN_HEADER: "wrong-token-0123456789"},
            )
            served = await client.post(
                "/internal/v1/answer", json=ANSWER_BODY, headers={INTERNAL_TOKEN_HEADER: TOKEN}
            )
    assert refused.status_code == wrong.status_code == 401
    assert refused.json()["code"] == "invalid_internal_token"
    assert served.status_code == 200, served.text
