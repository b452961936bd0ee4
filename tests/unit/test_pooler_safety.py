"""The code stays safe behind PgBouncer in transaction mode (docs/operations.md): nothing
outlives its transaction on a pooled connection. A static audit of the SQL and the Python
that run on the pools, so that a new session-level lock or setting fails here first."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Session-level state, with what to use instead.
FORBIDDEN = {
    r"pg_(try_)?advisory_lock(_shared)?\s*\(": "a session advisory lock (use pg_advisory_xact_lock)",
    r"set_config\s*\([^)]*,\s*false\s*\)": "a session setting (set_config(..., true) is SET LOCAL)",
    r"(?i)\bLISTEN\s+\"?\w": "LISTEN on a pooled connection (use MUKTI_DIRECT_DATABASE_URL)",
    r"(?i)\bWITH\s+HOLD\b": "a cursor that outlives its transaction",
    r"(?i)\bCREATE\s+TEMP(ORARY)?\s+TABLE\b(?![^;]*ON\s+COMMIT\s+DROP)": "a temporary table beyond its transaction",
    r"(?i)\bPREPARE\s+\w+\s+(AS|\()": "a named prepared statement (PgBouncer 1.18 does not carry it)",
}
# Modules allowed a session SET: MUKTI_DB_ROLE's SET ROLE at connect (core/database/scope.py
# for the asyncpg pools, jobs/connector.py for Procrastinate's, which is always direct), a
# development and test setting documented as not for a transaction pooler.
SESSION_ROLE_SETUP = {"scope.py", "connector.py"}
# Python that runs SQL on the pools: a bare SET (not SET LOCAL) as a statement of its own,
# as a string or composed with psycopg's `sql.SQL`.
SESSION_SET = re.compile(r"""(?i)execute\(\s*(sql\.SQL\(\s*)?f?["']SET\s+(?!LOCAL\b)""")


def sources() -> list[Path]:
    sql = [p for p in (ROOT / "db" / "sql").rglob("*.sql") if "vendor" not in p.parts]
    python = [p for package in ("api", "core", "jobs") for p in (ROOT / package).rglob("*.py")]
    return sql + python


def python_strings(path: Path) -> str:
    """The string literals of a module but its docstrings: the SQL it may send (comments
    and docs are free to name what is forbidden)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return "\n".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    )


def test_nothing_on_the_pools_outlives_its_transaction():
    found, paths = [], sources()
    assert {p.suffix for p in paths} == {".sql", ".py"} and len(paths) > 50
    for path in paths:
        text = path.read_text() if path.suffix == ".sql" else python_strings(path)
        for pattern, what in FORBIDDEN.items():
            if re.search(pattern, text):
                found.append(f"{path.relative_to(ROOT)}: {what}")
        if path.suffix == ".py" and SESSION_SET.search(path.read_text()) and path.name not in SESSION_ROLE_SETUP:
            found.append(f"{path.relative_to(ROOT)}: a session SET (use SET LOCAL)")
    assert not found, "\n".join(found)


def test_the_audit_catches_what_it_looks_for(tmp_path):
    samples = [
        "SELECT pg_advisory_lock(1);",
        "SELECT set_config('search_path', 'x', false);",
        'LISTEN "procrastinate_any_queue_v1";',
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1;",
        "CREATE TEMP TABLE t AS SELECT 1;",
        "PREPARE q AS SELECT 1;",
    ]
    for sample in samples:
        assert any(re.search(pattern, sample) for pattern in FORBIDDEN), sample
    for fine in (
        "PERFORM pg_advisory_xact_lock(1);",
        "CREATE TEMP TABLE t ON COMMIT DROP AS SELECT 1;",
        "SELECT set_config('x', 'y', true);",
    ):
        assert not any(re.search(pattern, fine) for pattern in FORBIDDEN), fine
    assert SESSION_SET.search('await conn.execute("SET statement_timeout = 0")')
    assert SESSION_SET.search('await conn.execute(sql.SQL("SET ROLE {}").format(role))')
    assert not SESSION_SET.search("await conn.execute(\"SET LOCAL lock_timeout = '5s'\")")
