"""Fixtures shared by the gateway's test folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gw_spans import Recorder, recording


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    yield from recording(monkeypatch)
