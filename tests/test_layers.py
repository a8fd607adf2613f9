"""The layers point one way: services (and the modules under them) never import the health
package, which is built on them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STOCKS = Path(__file__).resolve().parents[1] / "stocks"
LOWER = sorted(
    [*(STOCKS / "services").glob("*.py"), STOCKS / "db_introspection.py", STOCKS / "querysets.py"]
)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", LOWER, ids=lambda p: p.name)
def test_no_import_from_health(path):
    assert not [name for name in _imports(path) if "health" in name.split(".")], path
