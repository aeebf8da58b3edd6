"""Fixtures shared by the retrieval tests: the hash embedder."""

from __future__ import annotations

import pytest

from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.ports.embedder import Embedder

DIMENSION = 64


@pytest.fixture
def embedder() -> Embedder:
    return HashEmbedder(DIMENSION)
