"""Every query key in code is a literal that a `.sql` file defines, and every query has a
caller (core/database/gateway.py). Positional `$n` parameters fail at load
(tests/unit/test_queries_loader.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core.database.queries import QUERIES

ROOT = Path(__file__).resolve().parents[2]
# Application code: every statement it runs is a named query, by a literal key.
STRICT = ("api", "core", "jobs")
# Tools (the CLI's role management, the docs generator, benchmarks) also run statements
# of their own (DDL, set-up): there, only what looks like a key is checked.
TOOLS = ("cli", "db", "bench")
GATEWAY_METHODS = {"fetch", "fetchrow", "fetchval", "execute", "executemany"}
# The layers under the gateway pass SQL text through, by definition (jobs/connector.py is
# the same gateway over Procrastinate's psycopg connector).
PASS_THROUGH = {"core/database/gateway.py", "core/database/scope.py", "core/database/replica.py", "jobs/connector.py"}
KEY = re.compile(r"[a-z_][a-z0-9_]*")


def _files():
    for folder in (*STRICT, *TOOLS):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith("db/migrations/"):
                yield relative, folder in STRICT and relative not in PASS_THROUGH, ast.parse(path.read_text(), relative)


def _looks_built(node: ast.expr) -> bool:
    """An f-string or concatenation whose literal parts could be pieces of a key."""
    if isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        return all(re.fullmatch(r"[a-z0-9_]*", part) for part in parts)
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)


def _keys() -> tuple[set[str], list[str]]:
    used: set[str] = set()
    problems: list[str] = []
    for relative, strict, tree in _files():
        # (strict is False for PASS_THROUGH files: they are the gateway.)
        for node in ast.walk(tree):
            # QUERIES["key"]: in application code only the layer under the gateway reads the
            # catalog itself (tools may, to EXPLAIN a query).
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "QUERIES":
                if strict:
                    problems.append(f"{relative}:{node.lineno}: reads QUERIES instead of going through the gateway")
                if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                    used.add(node.slice.value)
                continue
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in GATEWAY_METHODS
                and node.args
            ):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if KEY.fullmatch(first.value):
                    used.add(first.value)
                    if first.value not in QUERIES:
                        problems.append(f"{relative}:{node.lineno}: no query named {first.value!r}")
                elif strict:
                    problems.append(f"{relative}:{node.lineno}: SQL written in code, not a named query")
            elif strict or _looks_built(first):
                problems.append(f"{relative}:{node.lineno}: the query key is not a literal ({ast.unparse(first)[:60]})")
    return used, problems


def test_every_key_in_code_is_a_literal_that_a_sql_file_defines():
    _, problems = _keys()
    assert problems == []


def test_every_query_has_a_caller():
    used, _ = _keys()
    assert sorted(set(QUERIES) - used) == []
