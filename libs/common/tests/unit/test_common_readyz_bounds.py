"""``/readyz`` answers within its check timeout, whatever a hung dependency's client does.

A check is cancelled at the timeout, but some clients take a while to give up (the catalog's
driver tries to close its connection over the same hung link, which measured 2 s more). The
probe must not wait for that: it reports ``timeout`` at the deadline, and a check still winding
down is not started a second time by the next probe.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI

from ragline_common.http import ops

TIMEOUT_S = 0.3
SLOW_CLEANUP_S = 3.0


@pytest.fixture(autouse=True)
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "_CHECK_TIMEOUT_S", TIMEOUT_S)


class HungDependency:
    """A check that never answers, and whose cancellation takes a while to finish."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.sleep(SLOW_CLEANUP_S))
            raise


async def healthy() -> None:
    return None


async def broken() -> None:
    raise ConnectionRefusedError("no")


async def readyz(app: FastAPI) -> tuple[int, dict[str, str], float]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ragline") as client:
        started = time.monotonic()
        async with asyncio.timeout(SLOW_CLEANUP_S * 3):
            response = await client.get("/readyz")
    return response.status_code, response.json()["checks"], time.monotonic() - started


def app_with(checks: dict[str, ops.ReadinessCheck]) -> FastAPI:
    app = FastAPI()
    app.include_router(ops.ops_router(checks))
    return app


async def test_every_check_ok_is_ready() -> None:
    status, checks, _ = await readyz(app_with({"catalog": healthy, "broker": healthy}))
    assert (status, checks) == (200, {"catalog": "ok", "broker": "ok"})


async def test_a_failing_check_is_named_and_the_others_still_run() -> None:
    status, checks, _ = await readyz(app_with({"catalog": healthy, "broker": broken}))
    assert status == 503
    assert checks == {"catalog": "ok", "broker": "failed: ConnectionRefusedError"}


async def test_a_hung_check_is_reported_at_the_deadline_not_after_its_cleanup() -> None:
    status, checks, elapsed = await readyz(
        app_with({"catalog": HungDependency(), "broker": healthy})
    )
    assert status == 503
    assert checks == {"catalog": "timeout", "broker": "ok"}
    assert elapsed < TIMEOUT_S + 1.0, f"/readyz waited {elapsed:.1f} s for a cancelled check"


async def test_a_check_still_winding_down_is_not_started_again() -> None:
    hung = HungDependency()
    app = app_with({"catalog": hung})
    for _ in range(3):
        status, checks, elapsed = await readyz(app)
        assert (status, checks["catalog"]) == (503, "timeout")
        assert elapsed < TIMEOUT_S + 1.0
    assert hung.calls == 1, "each probe piled another hung call onto the dependency"
