"""The package layering holds, and no package has an import cycle (issue 14; docs/architecture.md).

Read from the source, not by importing: a deferred or ``TYPE_CHECKING`` import ties two
modules together just the same.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from ragline_testing.import_graph import find_cycle, import_graph, imported_packages

SERVICES = ("ragline_gateway", "ragline_ingestion", "ragline_retrieval", "ragline_generation")
PACKAGES = ("ragline_common", "ragline_cli", "ragline_testing", *SERVICES)


def _root(package: str) -> Path:
    return Path(importlib.import_module(package).__file__ or "").parent


def test_the_graph_sees_deferred_imports() -> None:
    graph = import_graph(_root("ragline_common"))

    assert len(graph) > 50
    assert "ragline_common.ports.broker" in graph["ragline_common.adapters.factory"]
    # The factory imports its adapters inside functions; those count.
    assert "ragline_common.adapters.broker.memory" in graph["ragline_common.adapters.factory"]


def test_the_cycle_finder_finds_a_cycle_hidden_behind_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "ragline_common"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "hosting.py").write_text("from ragline_common.factory import build\n")
    (package / "factory.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ragline_common.hosting import Host\n"
    )

    cycle = find_cycle(import_graph(package))

    assert cycle is not None
    assert set(cycle) == {"ragline_common.hosting", "ragline_common.factory"}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package: str) -> None:
    cycle = find_cycle(import_graph(_root(package)))

    if cycle is not None:
        pytest.fail("import cycle: " + " -> ".join(cycle))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service_nor_the_process_assembly(service: str) -> None:
    imported = imported_packages(_root(service))

    forbidden = (set(SERVICES) - {service}) | {"ragline_cli", "ragline_testing"}
    assert imported & forbidden == set()


def test_the_common_library_imports_no_service_nor_the_command_line() -> None:
    imported = imported_packages(_root("ragline_common"))

    assert imported & {*SERVICES, "ragline_cli", "ragline_testing"} == set()
