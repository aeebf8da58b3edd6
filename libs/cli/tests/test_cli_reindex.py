"""``ragline reindex``: the operator API's client (start and wait, refusals, the token kept)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner
from rich.console import Console

from ragline_cli.gateway_api import Refused
from ragline_cli.main import cli
from ragline_cli.reindex_command import operator_token, run_reindex

TOKEN = "rlop_secret-operator-token-0123456789"


def _row(state: str, done: int, total: int = 4, failed: int = 0) -> dict[str, object]:
    return {
        "model": "onnx-int8",
        "state": state,
        "created_at": "2026-12-04T00:00:00Z",
        "activated_at": None,
        "total": total,
        "done": done,
        "failed": failed,
        "percent": 100.0 * (done + failed) / total,
        "error": "bad pdf" if failed else None,
    }


def _gateway(rows: list[dict[str, object]]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST" and request.url.path == "/v1/admin/index-models":
            if json.loads(request.content)["model"] == "hash":
                return httpx.Response(
                    409,
                    json={
                        "detail": "hash is already the active index.",
                        "code": "index_model_active",
                    },
                )
            return httpx.Response(202, json=rows[0])
        return httpx.Response(200, json=rows.pop(0) if len(rows) > 1 else rows[0])

    return httpx.MockTransport(handle), seen


async def _run(transport: httpx.MockTransport, model: str, output: io.StringIO) -> bool:
    return await run_reindex(
        url="http://gw",
        token=TOKEN,
        model=model,
        status=False,
        activate=None,
        drop=None,
        wait=True,
        wait_s=30.0,
        console=Console(file=output, width=200),
        transport=transport,
    )


async def test_wait_follows_progress_until_reads_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ragline_cli.reindex_command.POLL_INTERVAL_S", 0.0)
    transport, seen = _gateway(
        [_row("building", 0), _row("building", 2), _row("building", 4), _row("active", 4)]
    )
    output = io.StringIO()

    assert await _run(transport, "onnx-int8", output)

    printed = output.getvalue()
    assert "2/4 done" in printed and "active" in printed
    assert TOKEN not in printed
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in seen)


async def test_wait_stops_when_failures_hold_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ragline_cli.reindex_command.POLL_INTERVAL_S", 0.0)
    transport, _ = _gateway([_row("building", 3, failed=1)])
    output = io.StringIO()

    assert not await _run(transport, "onnx-int8", output)

    assert "ragline reindex --activate onnx-int8" in output.getvalue()


async def test_a_refusal_says_why_with_its_code() -> None:
    transport, _ = _gateway([_row("building", 0)])
    with pytest.raises(Refused, match="index_model_active"):
        await _run(transport, "hash", io.StringIO())


def test_the_token_comes_from_the_local_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "admin-token").write_text(TOKEN + "\n")
    monkeypatch.setenv("RAGLINE_DATA_DIR", str(tmp_path))
    assert operator_token(None) == TOKEN
    monkeypatch.setenv("RAGLINE_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(click.UsageError):
        operator_token(None)


def test_exactly_one_action_is_named() -> None:
    result = CliRunner().invoke(cli, ["reindex", "--status", "--drop", "hash"])
    assert result.exit_code == 2
    assert "exactly one" in result.output
