"""The load phase of ``bench_search``: a failed request is counted, and by what it was.

``load_errors`` is a goal (0); when it is not met, the results file has to say what failed
(refusals by status, transport errors by class) without a rerun.
"""

from __future__ import annotations

import socket

from bench_search import gateway_load
from fastapi import FastAPI, Request, Response

from ragline_testing.harness import serve_asgi

QUERIES = ("fine", "busy")


def _search_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/search")
    async def search(request: Request) -> Response:
        body = await request.json()
        return Response(status_code=503 if body["query"] == "busy" else 200)

    return app


async def test_refusals_are_counted_by_status() -> None:
    async with serve_asgi(_search_app()) as url:
        result = await gateway_load(url, "k", QUERIES, seconds=0.3, clients=2)

    # Client 0 always sends "fine", client 1 always "busy" (each steps by the client count).
    assert result["errors"] > 0
    assert result["error_kinds"] == {"HTTP 503": result["errors"]}
    assert result["requests"] > result["errors"]


async def test_transport_errors_are_counted_by_class() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        result = await gateway_load(url, "k", QUERIES, seconds=0.2, clients=1)

    assert result["errors"] == result["requests"] > 0
    assert result["error_kinds"] == {"ConnectError": result["errors"]}
