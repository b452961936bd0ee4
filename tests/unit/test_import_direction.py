"""Imports point one way (README, "Layout"):

    cli  ->  api, jobs  ->  db, core        db/migrations -> db, core        core -> (nothing of ours)

The API and the workers share only `core/` (and `db/`'s data helpers), never each other;
only the composition root `cli/` knows both.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"api", "jobs", "core", "db", "cli", "bench", "tests"}
# What each top-level package may import of ours (itself always).
ALLOWED = {
    "core": set(),
    "db": {"core"},
    "api": {"core", "db"},
    "jobs": {"core", "db"},
    "cli": {"api", "jobs", "core", "db"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


def test_imports_point_one_way():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in sorted(_imports(path) - allowed - {package}):
                wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert wrong == []


def test_migrations_import_only_core_and_db():
    wrong = [
        f"{path.relative_to(ROOT)} imports {imported}"
        for path in sorted((ROOT / "db" / "migrations").rglob("*.py"))
        for imported in sorted(_imports(path) - {"core", "db"})
    ]
    assert wrong == []
