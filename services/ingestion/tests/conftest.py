"""Fixtures shared by the ingestion tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# The shared data folder lives beside the checkout: <repo>/../shared/data.
_SHARED_DOCS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "docs"


@pytest.fixture(scope="session")
def shared_docs() -> Path:
    """Real documents of every format (see shared/data/README.md); absent on some machines."""
    if not _SHARED_DOCS.is_dir():
        pytest.skip(f"shared test documents not found at {_SHARED_DOCS} (expected beside the repo)")
    return _SHARED_DOCS
