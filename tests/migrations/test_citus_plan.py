"""The schema stays ready for Citus: the live catalog against the plan in docs/scaling.md
(which tables are distributed by user, which are reference or local tables, and the
exceptions still to change, each with its reason)."""

from __future__ import annotations

import re
from pathlib import Path

PLAN = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"


def _rows(section: str) -> list[list[str]]:
    """The cells of the markdown table under the heading `section` (header rows skipped)."""
    text = PLAN.read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in body.splitlines()
        if line.startswith("|")
    ]
    return rows[2:]


def plan() -> dict[str, tuple[str, str | None]]:
    """{table: (class, distribution column or None)}."""
    classes = {}
    for table, klass, _why in _rows("The plan: every table by class"):
        name = table.strip("`")
        if m := re.fullmatch(r"distributed by `(\w+)`", klass):
            classes[name] = ("distributed", m.group(1))
        else:
            assert klass in ("reference", "local"), f"{name}: unknown class {klass!r} in {PLAN.name}"
            classes[name] = (klass, None)
    return classes


def exceptions() -> dict[str, int]:
    """{constraint, index or table.column: the rule it breaks}."""
    return {
        name.strip("`"): int(rule)
        for name, rule, _what in _rows("Exceptions: what changes before distributing, and why it has not changed yet")
    }


TABLES = """
SELECT c.relname AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

# Primary keys, unique constraints and unique indexes of the parent tables, with their
# columns (an expression index has 0 among its keys, so it never counts as covering).
UNIQUES = """
SELECT t.relname AS table_name, i.relname AS name,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) k JOIN pg_attribute a
              ON a.attrelid = t.oid AND a.attnum = k) AS columns
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname = 'public' AND x.indisunique AND NOT t.relispartition
"""

FOREIGN_KEYS = """
SELECT c.conname AS name, t.relname AS table_name, r.relname AS referenced,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(num, pos)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos) AS columns,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(num, pos)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.pos) AS referenced_columns
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_class r ON r.oid = c.confrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname = 'public' AND c.contype = 'f' AND NOT t.relispartition AND c.conparentid = 0
"""

NULLABLE = """
SELECT a.attnotnull FROM pg_attribute a
 WHERE a.attrelid = ('public.' || quote_ident($1))::regclass AND a.attname = $2 AND NOT a.attisdropped
"""


async def violations(db, classes: dict[str, tuple[str, str | None]]) -> dict[str, int]:
    """Everything in the live schema that would not distribute as planned: {name: rule}."""
    found: dict[str, int] = {}
    for table, (klass, column) in classes.items():
        if klass == "distributed":
            not_null = await db.fetchval(NULLABLE, table, column)
            assert not_null is not None, f"{table} has no distribution column {column}"
            if not not_null:
                found[f"{table}.{column}"] = 2
    for row in await db.fetch(UNIQUES):
        klass, column = classes[row["table_name"]]
        if klass == "distributed" and column not in row["columns"]:
            found[row["name"]] = 3
    for row in await db.fetch(FOREIGN_KEYS):
        (source, column), (target, target_column) = classes[row["table_name"]], classes[row["referenced"]]
        if target != "distributed":
            continue  # to a reference table: allowed from anywhere
        if source != "distributed":
            found[row["name"]] = 5
        elif (column, target_column) not in zip(row["columns"], row["referenced_columns"], strict=True):
            found[row["name"]] = 4
    return found


async def test_every_table_is_classified(db):
    tables = {row["name"] for row in await db.fetch(TABLES)}
    planned = set(plan())
    assert not tables - planned, f"classify these tables in {PLAN}: {sorted(tables - planned)}"
    assert not planned - tables, f"{PLAN} classifies tables that do not exist: {sorted(planned - tables)}"


async def test_the_schema_distributes_as_planned_but_for_the_listed_exceptions(db):
    found, listed = await violations(db, plan()), exceptions()
    unlisted = {name: rule for name, rule in found.items() if listed.get(name) != rule}
    assert not unlisted, (
        f"these keys would not distribute by user (rule numbers in {PLAN}): {unlisted}; "
        "include the distribution column, or list them as exceptions with the reason"
    )
    stale = sorted(set(listed) - set(found))
    assert not stale, f"no longer exceptions (remove them from {PLAN}): {stale}"


async def test_the_check_catches_a_key_without_the_user(db):
    """A new table, classified as distributed, whose keys lack user_id: caught."""
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(
            "CREATE TABLE notifications_extra (id bigint PRIMARY KEY, user_id uuid NOT NULL "
            "REFERENCES users (id), conversation_id uuid REFERENCES conversations (id))"
        )
        found = await violations(db, {**plan(), "notifications_extra": ("distributed", "user_id")})
    finally:
        await transaction.rollback()
    assert found["notifications_extra_pkey"] == 3
    assert found["notifications_extra_conversation_id_fkey"] == 4
    assert "notifications_extra_user_id_fkey" not in found
