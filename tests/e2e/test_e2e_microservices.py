"""The suite as separate processes on the real RabbitMQ, Redis and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from ragline_e2e_harness import Client, RaglineProcess
from ragline_e2e_scenario import check_isolation_and_answers, upload_and_index
from ragline_e2e_stack import start_stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
KEY_PATTERN = re.compile(r"rl_[0-9A-Za-z]{38}")


@pytest.fixture(scope="module")
def microservices(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, list[RaglineProcess]]]:
    # The real embedding model here: this is the suite's one end-to-end run of it.
    stack = start_stack(
        postgres_url,
        tmp_path_factory.mktemp("micro"),
        extra_env={"RAGLINE_EMBEDDER_KIND": "minilm"},
    )
    try:
        yield stack.url, stack.admin_token, [stack.worker, stack.generation, stack.gateway]
    finally:
        stack.stop()


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
