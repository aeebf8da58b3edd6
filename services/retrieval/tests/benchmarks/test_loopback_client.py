"""The benchmark's lean client against a real uvicorn server: it must read exactly one whole
answer per request (sized or chunked) on one connection, and fail loudly when it cannot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from loopback_client import LoopbackClient
from starlette.types import Receive, Scope, Send

from ragline_testing.harness import serve_asgi


def _echo_app() -> FastAPI:
    app = FastAPI()
    connections: set[tuple[str, int]] = set()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, object]:
        assert request.client is not None
        connections.add((request.client.host, request.client.port))
        return {
            "got": await request.json(),
            "auth": request.headers.get("authorization"),
            "connections": len(connections),
        }

    @app.post("/chunked")
    async def chunked() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b'{"parts": [', b"1, 2,", b" 3]}"):
                yield part

        return StreamingResponse(parts(), media_type="application/json")

    @app.post("/missing", status_code=404)
    async def missing() -> dict[str, str]:
        return {"code": "not_found"}

    return app


async def test_answers_are_read_whole_on_one_kept_alive_connection() -> None:
    async with (
        serve_asgi(_echo_app()) as url,
        LoopbackClient(url, {"Authorization": "Bearer k"}) as client,
    ):
        answers = [await client.post_json("/echo", {"n": n, "text": "é" * 5000}) for n in range(3)]
        chunked = await client.post_json("/chunked", {})
        missing = await client.post_json("/missing", {})

    for n, (status, body) in enumerate(answers):
        assert status == 200
        echoed = json.loads(body)
        assert echoed["got"] == {"n": n, "text": "é" * 5000}
        assert echoed["auth"] == "Bearer k"
        assert echoed["connections"] == 1
    assert chunked == (200, b'{"parts": [1, 2, 3]}')
    assert missing == (404, b'{"code":"not_found"}')


async def _closes_mid_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"100")],
        }
    )
    await send({"type": "http.response.body", "body": b"short"})


async def _answers_then_closes(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    headers = [(b"content-length", b"2"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.parametrize("app", [_closes_mid_answer, _answers_then_closes])
async def test_a_connection_that_cannot_carry_the_next_request_is_an_error(
    app: Callable[[Scope, Receive, Send], Awaitable[None]],
) -> None:
    """Mid-answer, a short body must not pass for an answer; after one, a reconnect would
    add a TCP handshake to the next figure without anyone noticing."""
    async with serve_asgi(app) as url, LoopbackClient(url, {}) as client:
        with pytest.raises(ConnectionError):
            await client.post_json("/", {})


def test_only_plain_http_urls_with_a_port_are_accepted() -> None:
    for url in ("https://127.0.0.1:443", "http://127.0.0.1", "127.0.0.1:80"):
        with pytest.raises(ValueError, match="expected http://host:port"):
            LoopbackClient(url, {})
