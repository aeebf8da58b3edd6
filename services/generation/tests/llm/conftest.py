"""A fake OpenAI-protocol chat server on loopback for every test of the real model path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ragline_testing.fake_llm import FakeChatServer
from ragline_testing.harness import serve_asgi


@pytest.fixture
def fake() -> FakeChatServer:
    """Override in a module to start the server with other switches."""
    return FakeChatServer()


@pytest.fixture
async def url(fake: FakeChatServer) -> AsyncIterator[str]:
    async with serve_asgi(fake.app()) as base_url:
        yield base_url
