"""End-to-end fixtures: real services for the microservices topology."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from ragline_e2e_harness import create_database, drop_database

from ragline_testing.harness import require_service


@pytest.fixture(scope="module")
def real_services() -> None:
    for port, name in ((5672, "RabbitMQ"), (6379, "Redis"), (5432, "PostgreSQL")):
        require_service("127.0.0.1", port, name)


@pytest.fixture(scope="module")
def postgres_url(real_services: None) -> Iterator[str]:
    """A fresh PostgreSQL database for one test module, dropped afterwards."""
    name = f"ragline_e2e_{secrets.token_hex(4)}"
    create_database(name)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        drop_database(name)
