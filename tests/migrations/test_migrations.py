"""Migrations replay from empty, reverse cleanly, and agree with the vendored schemas."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from db.migrations.heads import alembic_config
from tests.harness import PgServer, janitor, pg_dump_binary, unique_name

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_db(pg_server: PgServer) -> Iterator[str]:
    name = unique_name("mukti_mig")
    jan = janitor(pg_server, name)
    jan.init()
    try:
        yield pg_server.url(name)
    finally:
        jan.drop()


def _schema_dump(url: str) -> str:
    dump = subprocess.run(
        [pg_dump_binary(), "--schema-only", "--no-owner", "--no-privileges", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # Comments and session settings carry no schema; this server build records a per-table
    # `pg_attver` attribute option that differs between two creations of the same table.
    return "\n".join(
        line
        for line in dump.splitlines()
        if not line.startswith(("--", "SET ", "SELECT pg_catalog.set_config")) and "SET (pg_attver=" not in line
    )


def _leftovers(pg_server: PgServer, url: str) -> dict[str, list[str]]:
    dbname = urlparse(url).path.lstrip("/")
    with pg_server.connect(dbname) as conn:

        def names(query: str) -> list[str]:
            return [row[0] for row in conn.execute(query)]

        return {
            "relations": names("""SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                                     AND c.relname NOT IN ('alembic_version', 'alembic_version_pkc')"""),
            "functions": names("""SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"""),
            "types": names("""SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                                 AND t.typtype IN ('e', 'c', 'd') AND t.typrelid = 0"""),
            "schemas": names("""SELECT nspname FROM pg_namespace
                                 WHERE nspname NOT IN ('public', 'pg_catalog', 'information_schema', 'pg_toast')
                                   AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'"""),
        }


def test_single_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, heads


def test_revisions_form_one_line_in_file_order():
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(reversed(list(script.walk_revisions())))
    files = sorted(p.name for p in (ROOT / "db/migrations/versions").glob("[0-9]*.py"))
    assert [r.revision for r in revisions] == [f.split("_", 1)[0] for f in files]


def test_upgrade_downgrade_upgrade_gives_the_same_schema(pg_server: PgServer, empty_db: str):
    config = alembic_config(empty_db)
    command.upgrade(config, "head")
    first = _schema_dump(empty_db)

    command.downgrade(config, "base")
    assert _leftovers(pg_server, empty_db) == {"relations": [], "functions": [], "types": [], "schemas": []}

    command.upgrade(config, "head")
    assert _schema_dump(empty_db) == first


def test_each_migration_reverses(pg_server: PgServer, empty_db: str):
    """Step by step: upgrade one, downgrade one, upgrade again, all the way to head."""
    config = alembic_config(empty_db)
    script = ScriptDirectory.from_config(config)
    for revision in reversed(list(script.walk_revisions())):
        command.upgrade(config, revision.revision)
        command.downgrade(config, "-1")
        command.upgrade(config, revision.revision)


def test_vendored_procrastinate_schema_matches_the_installed_package():
    from importlib.metadata import version

    import procrastinate

    migration = (ROOT / "db/migrations/versions/0002_procrastinate.py").read_text()
    pinned = re.search(r'PROCRASTINATE_VERSION = "([^"]+)"', migration).group(1)
    installed = version("procrastinate")
    assert installed == pinned, (
        f"procrastinate {installed} is installed but the schema migration is for {pinned}: add a migration "
        "that applies procrastinate's own migration files, and vendor its schema"
    )
    vendored = (ROOT / f"db/sql/vendor/procrastinate_{pinned}_schema.sql").read_text()
    packaged = (Path(procrastinate.__file__).parent / "sql" / "schema.sql").read_text()
    assert vendored == packaged


def test_versioned_sql_objects_are_named_after_their_files():
    """db/sql/{functions,views,matviews}/<name>_vN.sql defines an object called <name>_vN."""
    for path in (ROOT / "db/sql").glob("*/*_v[0-9]*.sql"):
        if path.parent.name not in ("functions", "views", "matviews"):
            continue
        assert re.search(rf"\b{re.escape(path.stem)}\b", path.read_text()), path
