"""A lean keep-alive HTTP/1.1 client for latency measurements over loopback.

A latency benchmark should spend as little time as it can in its own client, as ``wrk`` or
``hey`` do: whatever the client costs is added to every figure and is not the server's. On two
cores ``httpx.AsyncClient`` spends about 1.5 ms per request in its own Python (request
building, the connection pool, the ``h11`` state machine), more than a third of everything the
gateway adds to a search. This client writes one request on one connection and parses the
answer with ``httptools`` (the C parser uvicorn uses), so it measures the server, the loopback
and the parse, nothing more. It is not a general client: one request at a time, no redirects,
no TLS, and it refuses a response it cannot read rather than guess.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools


@dataclass
class _Answer:
    body: list[bytes] = field(default_factory=list)
    closes: bool = False
    complete: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"connection" and value.strip().lower() == b"close":
            self.closes = True

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.complete = True


class LoopbackClient:
    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or url.hostname is None or url.port is None:
            raise ValueError(f"expected http://host:port, got {base_url!r}")
        self._host = url.hostname
        self._port = url.port
        fixed = {"host": f"{self._host}:{self._port}", **headers}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> LoopbackClient:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    async def post_json(self, path: str, payload: Any) -> tuple[int, bytes]:
        """``POST`` ``payload`` as JSON; the status and the complete body of the answer."""
        if self._reader is None or self._writer is None:
            raise RuntimeError("use LoopbackClient as an async context manager")
        body = json.dumps(payload).encode()
        request = (
            f"POST {path} HTTP/1.1\r\n{self._head}"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        self._writer.write(request.encode("latin-1") + body)
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        while not answer.complete:
            data = await self._reader.read(65536)
            if not data:
                raise ConnectionError("the server closed the connection mid-response")
            parser.feed_data(data)
        if answer.closes:
            raise ConnectionError("the server did not keep the connection alive")
        return parser.get_status_code(), b"".join(answer.body)
