"""Replaying dead letters by id: ids are unique per tenant only, so every replay names one.

A letter's id is its message id, which a producer (or a repeated publish) can make collide with
another tenant's. Tenant A's admin replaying "its" id must never touch tenant B's letter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest
from gw_harness import ADMIN_TOKEN, POISON, FakeAnswers, FakePeers, FakeSearch, bearer, make_tenant
from test_gw_admin import _admin_key, _dead_letters
from test_gw_api import assert_problem, wait_status

from ragline_common.adapters.broker.memory import MemoryBroker, _Stored
from ragline_common.hosting import ComponentHost
from ragline_common.messages import parse_message
from ragline_common.ports.broker import Broker
from ragline_common.topology import (
    INTAKE_API_KEY_HEADER,
    INTAKE_EXCHANGE,
    ROUTING_INGEST,
    QueueName,
)


@dataclass
class BrokerKeepingPeers(FakePeers):
    """The fake peers, keeping the broker so a test can publish as the gateway would."""

    brokers: list[Broker] = field(default_factory=list)

    async def start(self, host: ComponentHost) -> None:
        await super().start(host)
        self.brokers.append(await host.broker())


@pytest.fixture
def peers() -> BrokerKeepingPeers:
    return BrokerKeepingPeers(FakeSearch(), FakeAnswers())


async def _poisoned_job(client: httpx.AsyncClient, key: str) -> str:
    response = await client.post(
        "/v1/documents", files={"file": ("bad.txt", POISON, "text/plain")}, headers=bearer(key)
    )
    assert response.status_code == 202
    job_id: str = response.json()["job_id"]
    await wait_status(client, key, job_id, "failed")
    return job_id


async def test_an_admin_replays_its_own_letter_when_another_tenants_has_the_same_id(
    client: httpx.AsyncClient, peers: BrokerKeepingPeers
) -> None:
    alpha, beta = await make_tenant(client, "alpha"), await make_tenant(client, "beta")
    alpha_admin, beta_admin = await _admin_key(client, alpha.id), await _admin_key(client, beta.id)
    await _poisoned_job(client, beta.key)
    [beta_letter] = await _dead_letters(client, beta_admin)
    alpha_job = await _poisoned_job(client, alpha.key)
    [alpha_letter] = await _dead_letters(client, alpha_admin)
    # Alpha's command parked again under beta's letter id (parked after beta's, so a lookup
    # by id alone finds beta's first).
    [broker] = peers.brokers
    [parked] = [
        letter
        for letter in await broker.list_dead_letters(None, limit=10)
        if letter.id == alpha_letter["id"]
    ]
    await client.delete("/v1/admin/dead-letters", headers=bearer(alpha_admin))
    twin = parse_message(parked.body).model_copy(update={"event_id": beta_letter["id"]})
    await broker.publish(twin, routing_key=ROUTING_INGEST)
    for _ in range(100):
        if len(await _dead_letters(client, ADMIN_TOKEN)) == 2:
            break
    alpha_failed = await wait_status(client, alpha.key, alpha_job, "failed")

    replay = await client.post(
        f"/v1/admin/dead-letters/{beta_letter['id']}/replay", headers=bearer(alpha_admin)
    )

    assert replay.status_code == 202
    again = await wait_status(client, alpha.key, alpha_job, "failed")
    assert str(again["updated_at"]) > str(alpha_failed["updated_at"])
    assert await _dead_letters(client, beta_admin) == [beta_letter]  # untouched, not re-parked


async def test_the_operator_names_the_tenant_of_the_letter_it_replays(
    client: httpx.AsyncClient,
) -> None:
    beta = await make_tenant(client, "beta")
    beta_job = await _poisoned_job(client, beta.key)
    [letter] = await _dead_letters(client, ADMIN_TOKEN)

    unnamed = await client.post(
        f"/v1/admin/dead-letters/{letter['id']}/replay", headers=bearer(ADMIN_TOKEN)
    )
    assert_problem(unnamed, 404, "dead_letter_not_found")
    named = await client.post(
        f"/v1/admin/dead-letters/{letter['id']}/replay",
        params={"tenant_id": beta.id},
        headers=bearer(ADMIN_TOKEN),
    )
    assert named.status_code == 202
    await wait_status(client, beta.key, beta_job, "failed")


async def test_a_parked_queue_drop_message_is_listed_but_not_replayed(
    client: httpx.AsyncClient, peers: BrokerKeepingPeers
) -> None:
    """It was parked without its API key; replayed, it would only be refused again."""
    alpha = await make_tenant(client, "alpha")
    alpha_admin = await _admin_key(client, alpha.id)
    [broker] = peers.brokers
    assert isinstance(broker, MemoryBroker)
    claims = {"x-ragline-tenant": "someone-else", "x-ragline-type": "document.ingest.v1"}
    body = b'{"schema": "ragline.intake.document.v1", "job_id": "job_of_someone_else"}'
    headers = {**claims, INTAKE_API_KEY_HEADER: alpha.key}
    broker._route(INTAKE_EXCHANGE, _Stored(body, "document.intake.v1", "evt_drop", headers))

    [letter] = await _dead_letters(client, alpha_admin)
    assert letter["queue"] == QueueName.INTAKE.value
    assert letter["tenant_id"] == alpha.id  # the key's tenant, not the claimed one
    assert (letter["message_type"], letter["job_id"]) == (None, None)  # the body is not believed
    assert alpha.key not in str(await broker.list_dead_letters(None, limit=10))

    replay = await client.post(
        f"/v1/admin/dead-letters/{letter['id']}/replay", headers=bearer(alpha_admin)
    )
    assert_problem(replay, 409, "dead_letter_not_replayable")
    assert await _dead_letters(client, alpha_admin) == [letter]
