"""A streamed response that stops its producer the moment the client goes away.

Starlette's ``StreamingResponse`` notices a disconnect only on the next write when the server
speaks ASGI 2.4, and never closes the body iterator itself: a producer waiting on a slow model
would keep the model generating for nobody. Here a watcher task reads ``http.disconnect`` while
the body streams; on disconnect it cancels the stream and the iterator is closed explicitly, so
the ``finally`` blocks down the chain run now (closing the model's HTTP stream), not whenever
the garbage collector finalises the generator.

Each chunk is sent as soon as the iterator yields it; nothing is buffered.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Mapping

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

CLEANUP_TIMEOUT_S = 5.0


class CancellableStreamingResponse(Response):
    def __init__(
        self,
        content: AsyncGenerator[str, None],
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> None:
        self._content = content
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def watch_for_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch_for_disconnect)
                # OSError: the client is gone (ASGI 2.4 servers raise on send).
                with contextlib.suppress(OSError):
                    await self._stream(send)
                group.cancel_scope.cancel()
        finally:
            # Shielded: when the client left, this runs inside a cancelled scope.
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_TIMEOUT_S):
                await self._content.aclose()

    async def _stream(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async for chunk in self._content:
            await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
