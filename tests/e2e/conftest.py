"""End-to-end fixtures: real services for the microservices topology."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragline_testing.harness import require_service
from ragline_testing.postgres import catalog_url, scratch_database


@pytest.fixture(scope="module")
def real_services() -> None:
    for port, name in ((5672, "RabbitMQ"), (6379, "Redis"), (5432, "PostgreSQL")):
        require_service("127.0.0.1", port, name)


@pytest.fixture(scope="module")
def postgres_url(real_services: None) -> Iterator[str]:
    """A fresh PostgreSQL database for one test module, dropped afterwards."""
    with scratch_database("ragline_e2e") as name:
        yield catalog_url(name)
