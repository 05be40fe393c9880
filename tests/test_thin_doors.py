"""The doors (api/, cli/, console/) hold no SQL of their own (issue 13): every query is a
named function of the layer that owns the data, and the doors call it. Read from the source,
so a query written into a route or a command fails here, not in review."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import vitalfile

DOORS = ("api", "cli", "console")
# the store's ways to run SQL, and a statement written out
STORE_SQL = {"query", "query_arrow", "reader", "execute", "fetchall", "select_in", "stage_csv"}
STATEMENT = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE|ALTER|DROP)\s")


def _door_files() -> list[Path]:
    root = Path(vitalfile.__file__).parent
    return sorted(p for d in DOORS for p in (root / d).rglob("*.py"))


def test_the_doors_run_no_sql_of_their_own() -> None:
    found = []
    for path in _door_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in STORE_SQL:
                    found.append(f"{path.name}:{node.lineno} .{node.func.attr}(")
            elif isinstance(node, ast.Constant) and STATEMENT.match(str(node.value)):
                found.append(f"{path.name}:{node.lineno} {str(node.value)[:40]!r}")
    assert not found, "SQL in a door (move it to the layer that owns the data): " + "; ".join(found)


def test_the_check_sees_the_doors() -> None:
    names = {p.name for p in _door_files()}
    assert {"requests.py", "pages.py", "demo.py"} <= names
