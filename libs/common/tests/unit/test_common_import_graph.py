"""No import cycle among the modules of ragline_common.

Every ``import`` counts, including those inside functions and ``TYPE_CHECKING`` blocks: a cycle
hidden in a deferred import still ties two modules together (hosting and the adapter factory
once did exactly that), and it breaks as soon as someone moves the import to the top.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import ragline_common

PACKAGE = "ragline_common"
ROOT = Path(ragline_common.__file__).parent


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """The package's own modules that ``module`` imports (a name imported from a package
    counts as its submodule when there is one)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name in modules and name != module}


def import_graph(root: Path) -> dict[str, set[str]]:
    paths = {_module_name(path, root): path for path in root.rglob("*.py")}
    modules = set(paths)
    return {module: _imports(path, module, modules) for module, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        cycle: list[str] = exc.args[1]
        return cycle
    return None


def test_the_graph_sees_the_imports_that_matter() -> None:
    graph = import_graph(ROOT)

    assert len(graph) > 50
    assert "ragline_common.ports.broker" in graph["ragline_common.adapters.factory"]
    # Deferred imports count too: the factory imports its adapters inside functions.
    assert "ragline_common.adapters.broker.memory" in graph["ragline_common.adapters.factory"]


def test_the_cycle_finder_finds_a_deferred_cycle(tmp_path: Path) -> None:
    package = tmp_path / PACKAGE
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


def test_ragline_common_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph(ROOT))

    if cycle is not None:
        pytest.fail("import cycle: " + " -> ".join(cycle))
