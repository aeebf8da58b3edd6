"""Helpers for the test suites of every package (importable, tiny, no pytest plugin magic).

Under ``CI=true`` a missing service is a failure, never a skip: CI must prove the integration
paths, while a developer without RabbitMQ still gets a clean run of everything else.
"""

from __future__ import annotations

import os
import socket

import pytest


def service_reachable(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_service(host: str, port: int, name: str) -> None:
    """Skip the calling test when ``name`` is down, or fail under CI."""
    if service_reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: integration services are mandatory)")
    pytest.skip(message)
