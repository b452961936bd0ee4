"""plpgsql_check (Debian postgresql-15-plpgsql-check) over every PL/pgSQL function of
the schema: trigger functions against each table they are attached to. Findings fail
the test unless listed in ALLOWED with the reason."""

from __future__ import annotations

import asyncpg
import pytest

# (function, message fragment) -> why the finding is deliberate.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "mukti_cast_vote_v1",
        "is maybe unmodified",
    ): "RETURNS TABLE filled by RETURN QUERY EXECUTE: the checker cannot see dynamic SQL fill the OUT columns",
    **{
        (
            version,
            fragment,
        ): "one function serves the INSERT, UPDATE and DELETE statement triggers, branching on TG_OP; each trigger "
        "has only its own transition tables, and the checker reads every branch against each (v_slot is read "
        "only in the branches it could not analyse)"
        for version in ("mukti_count_pending_v1", "mukti_count_pending_v2")
        for fragment in (
            'relation "new_rows" does not exist',
            'relation "old_rows" does not exist',
            'never read variable "v_slot"',
        )
    },
}

FUNCTIONS = """
SELECT p.oid, p.proname, coalesce(t.tgrelid, 0)::oid AS relid, t.tgnewtable AS newtable, t.tgoldtable AS oldtable,
       p.prorettype = 'trigger'::regtype AS is_trigger
  FROM pg_proc p
  JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
  JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname IN ('public', 'analytics')
  LEFT JOIN pg_trigger t ON t.tgfoid = p.oid AND NOT t.tgisinternal
 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
 ORDER BY p.proname
"""


async def test_plpgsql_check_finds_nothing_in_any_function(db: asyncpg.Connection):
    available = await db.fetchval("SELECT count(*) FROM pg_available_extensions WHERE name = 'plpgsql_check'")
    if not available:
        pytest.skip("plpgsql_check is not installed on this server (apt-get install postgresql-15-plpgsql-check)")
    await db.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
    findings = []
    checked = 0
    for fn in await db.fetch(FUNCTIONS):
        if fn["is_trigger"] and not fn["relid"]:
            continue  # a trigger function attached to nothing cannot be checked (none is expected)
        rows = await db.fetch(
            "SELECT level, message, lineno, statement FROM plpgsql_check_function_tb($1::oid::regprocedure, $2::oid::regclass,"
            " fatal_errors => false, other_warnings => true, performance_warnings => false,"
            " extra_warnings => true, newtable => $3, oldtable => $4)",
            fn["oid"],
            fn["relid"],
            fn["newtable"],
            fn["oldtable"],
        )
        checked += 1
        for row in rows:
            if not any(name == fn["proname"] and fragment in row["message"] for name, fragment in ALLOWED):
                findings.append(f"{fn['proname']}:{row['lineno']}: {row['level']}: {row['message']}")
    assert checked > 20
    assert findings == [], "\n".join(findings)
