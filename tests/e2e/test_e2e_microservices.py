"""The suite as separate processes on the real RabbitMQ, Redis and PostgreSQL."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from ragline_e2e_harness import Client, RaglineProcess
from ragline_e2e_scenario import check_isolation_and_answers, upload_and_index

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
KEY_PATTERN = re.compile(r"rl_[0-9A-Za-z]{38}")


@pytest.fixture(scope="module")
def microservices(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, list[RaglineProcess]]]:
    work = tmp_path_factory.mktemp("micro")
    admin_token = secrets.token_urlsafe(24)
    common = {
        "RAGLINE_BROKER_KIND": "rabbitmq",
        "RAGLINE_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/",
        "RAGLINE_BROKER_NAMESPACE": f"e2e-{secrets.token_hex(4)}",
        "RAGLINE_INTERNAL_TOKEN": secrets.token_urlsafe(24),
        "RAGLINE_LOG_LEVEL": "info",
    }
    vectors = RaglineProcess(
        "retrieval,ingestion",
        {**common, "RAGLINE_DATA_DIR": str(work / "vectors")},
        work / "retrieval-ingestion.log",
    )
    generation = RaglineProcess(
        "generation",
        {**common, "RAGLINE_DATA_DIR": str(work / "generation")},
        work / "generation.log",
    )
    processes = [vectors.start(), generation.start()]
    gateway = RaglineProcess(
        "gateway",
        {
            **common,
            "RAGLINE_DATA_DIR": str(work / "gateway"),
            "RAGLINE_CATALOG_URL": postgres_url,
            "RAGLINE_ADMIN_TOKEN": admin_token,
            "RAGLINE_GATEWAY_KEY_PEPPER": secrets.token_hex(32),
            "RAGLINE_GATEWAY_RATE_LIMITER": "redis",
            "RAGLINE_GATEWAY_RETRIEVAL_URL": vectors.url,
            "RAGLINE_GATEWAY_GENERATION_URL": generation.url,
        },
        work / "gateway.log",
    )
    processes.append(gateway.start())
    try:
        yield gateway.url, admin_token, processes
    finally:
        for process in reversed(processes):
            process.stop()


def test_tenants_are_isolated_across_separate_processes(
    microservices: tuple[str, str, list[RaglineProcess]],
) -> None:
    url, admin_token, _ = microservices
    client = Client(url)
    try:
        state = upload_and_index(client, admin_token)
        check_isolation_and_answers(client, state)
    finally:
        client.close()


def test_every_process_stops_cleanly_on_sigterm(
    microservices: tuple[str, str, list[RaglineProcess]],
) -> None:
    _, _, processes = microservices
    for process in reversed(processes):
        assert process.stop(), process.log_tail()


def test_logs_never_contain_keys_or_document_text(
    microservices: tuple[str, str, list[RaglineProcess]],
) -> None:
    _, _, processes = microservices
    for process in processes:
        log = process.log_path.read_text(errors="replace")
        assert not KEY_PATTERN.search(log), process.log_path
        assert "Zorblax" not in log, process.log_path
