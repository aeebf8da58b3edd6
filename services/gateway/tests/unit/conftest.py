"""Unit tests of gateway code that needs a real catalog, not a fake: the SQLite one.

The catalog itself is tested on every backend in ``catalog/``, whose ``catalog`` fixture is
parametrised over them.
"""

from __future__ import annotations

import pytest

from ragline_gateway.adapters.catalog import SqlCatalog


@pytest.fixture
def catalog(sqlite_catalog: SqlCatalog) -> SqlCatalog:
    return sqlite_catalog
