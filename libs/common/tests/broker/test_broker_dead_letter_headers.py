"""What a parked copy keeps: never credentials, and only a tenant someone vouched for."""

from __future__ import annotations

from collections.abc import Mapping

from ragline_common.adapters.broker.settlement import settle
from ragline_common.errors import PermanentProcessingError
from ragline_common.ports.broker import Delivery
from ragline_common.topology import INTAKE_API_KEY_HEADER, QueueName

CLAIMED = {"x-ragline-tenant": "ten_victim", INTAKE_API_KEY_HEADER: "rl_secret", "x-other": "1"}


class Recorder:
    def __init__(self) -> None:
        self.parked: list[Mapping[str, str]] = []
        self.acked = False

    async def ack(self) -> None:
        self.acked = True

    async def requeue(self) -> None:
        raise AssertionError("not expected")

    async def dead_letter(self, routing_key: str, headers: Mapping[str, str]) -> None:
        self.parked.append(headers)

    async def retry_later(self, delay_s: float, headers: Mapping[str, str]) -> None:
        raise AssertionError("not expected")


async def _park(queue: QueueName, error: PermanentProcessingError) -> Mapping[str, str]:
    async def refuse(_delivery: Delivery) -> None:
        raise error

    recorder = Recorder()
    delivery = Delivery(body=b"{}", routing_key="#", headers=CLAIMED)
    await settle(refuse, delivery, recorder, queue=queue, retry_delays_s=(1.0,))
    assert recorder.acked
    [headers] = recorder.parked
    return headers


async def test_keys_never_reach_a_dead_letter() -> None:
    headers = await _park(QueueName.INTAKE, PermanentProcessingError("bad"))
    assert INTAKE_API_KEY_HEADER not in headers
    assert "rl_secret" not in str(headers)
    assert headers["x-other"] == "1"
    assert headers["x-ragline-reason"] == "bad"


async def test_a_tenant_claimed_by_an_outside_producer_is_not_believed() -> None:
    unauthenticated = await _park(QueueName.INTAKE, PermanentProcessingError("bad key"))
    assert "x-ragline-tenant" not in unauthenticated
    authenticated = await _park(
        QueueName.INTAKE, PermanentProcessingError("bad schema", tenant_id="ten_real")
    )
    assert authenticated["x-ragline-tenant"] == "ten_real"


async def test_internal_queues_keep_the_tenant_their_publisher_set() -> None:
    headers = await _park(QueueName.INGESTION, PermanentProcessingError("bad document"))
    assert headers["x-ragline-tenant"] == "ten_victim"
