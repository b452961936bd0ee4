"""Every query key in code is a literal that a `.sql` file defines, every query has a
caller, and every parameter is named (core/database/gateway.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core.database.queries import QUERIES

ROOT = Path(__file__).resolve().parents[2]
# The code that runs queries; migrations run DDL files, tests may run anything.
SCANNED = ("api", "cli", "core", "db", "jobs", "bench")
GATEWAY_METHODS = {"fetch", "fetchrow", "fetchval", "execute", "executemany"}
# The layers under the gateway pass SQL text through, by definition.
PASS_THROUGH = {"core/database/gateway.py", "core/database/scope.py", "core/database/replica.py"}
KEY = re.compile(r"[a-z_][a-z0-9_]*")


def _calls() -> list[tuple[str, int, ast.expr]]:
    found = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("db/migrations/") or relative in PASS_THROUGH:
                continue
            for node in ast.walk(ast.parse(path.read_text(), relative)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in GATEWAY_METHODS
                    and node.args
                ):
                    found.append((relative, node.lineno, node.args[0]))
    return found


def _keys() -> tuple[set[str], list[str]]:
    used: set[str] = set()
    problems: list[str] = []
    for relative, line, first in _calls():
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            if KEY.fullmatch(first.value):
                used.add(first.value)
                if first.value not in QUERIES:
                    problems.append(f"{relative}:{line}: no query named {first.value!r}")
            # else: a statement written out (LISTEN, SET), not a query of the catalog.
        else:
            problems.append(f"{relative}:{line}: the query key is not a literal ({ast.unparse(first)})")
    return used, problems


def test_every_key_in_code_is_a_literal_that_a_sql_file_defines():
    _, problems = _keys()
    assert problems == []


def test_every_query_has_a_caller():
    used, _ = _keys()
    assert sorted(set(QUERIES) - used) == []


def test_every_parameter_is_named():
    positional = [name for name, query in QUERIES.items() if not query.params and re.search(r"\$\d", query.sql)]
    assert positional == []
