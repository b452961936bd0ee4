"""Offline rendering (`alembic upgrade --sql`) of every migration, squawk over each one's
SQL, and the rule that every migration sets its own lock_timeout."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from db.migrations.heads import ROOT, alembic_config
from tests.harness import PgServer, janitor, pg_dump_binary, unique_name
from tests.migrations.test_migrations import _schema_dump

SQUAWK = shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which("squawk") or ""

# Deliberate exceptions to squawk's rules, per revision, each with its reason. (Landed
# versioned files cannot carry a `-- squawk-ignore` comment; newer SQL does, in place.)
EXCEPTIONS = {
    "0004": {
        "require-concurrent-index-creation": "request_queue_failed_idx: shipped with request_queue's first release (0001-0004 are applied together); "
        "a later rebuild of it would be a new migration with CONCURRENTLY"
    },
    "0007": {
        "require-concurrent-index-creation": "technique_versions_pending_idx: technique_versions is small (one row per edit of a technique)"
    },
    "0009": {
        "require-concurrent-index-creation": "the unique indexes of matviews created in the same transaction: nothing else can use them yet"
    },
}


def _revisions() -> list[tuple[str | None, str]]:
    script = ScriptDirectory.from_config(alembic_config())
    return [
        (str(r.down_revision) if r.down_revision else None, r.revision) for r in reversed(list(script.walk_revisions()))
    ]


def _render(start: str | None, end: str) -> str:
    buffer = io.StringIO()
    config = Config(str(ROOT / "alembic.ini"), output_buffer=buffer)
    config.set_main_option("script_location", str(ROOT / "db" / "migrations"))
    config.set_main_option("sqlalchemy.url", "postgresql+psycopg://offline/none")
    config.attributes["configure_logging"] = False
    command.upgrade(config, f"{start or 'base'}:{end}", sql=True)
    return buffer.getvalue()


def test_alembic_cli_renders_every_migration_offline_from_empty():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head", "--sql"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE usage_events" in result.stdout
    # The CLI logs what it runs.
    assert "Running upgrade 0014 -> 0014a" in result.stderr


@pytest.mark.skipif(not SQUAWK, reason="squawk is not installed (PyPI squawk-cli, a dev dependency)")
@pytest.mark.parametrize(("start", "end"), _revisions(), ids=[rev for _, rev in _revisions()])
def test_squawk_passes_every_migration(tmp_path: Path, start: str | None, end: str):
    sql = tmp_path / f"{end}.sql"
    sql.write_text(_render(start, end))
    # --exclude replaces the config's excluded_rules: pass both.
    config_rules = tomllib.loads((ROOT / ".squawk.toml").read_text())["excluded_rules"]
    excluded = ",".join([*config_rules, *EXCEPTIONS.get(end, {})])
    args = [SQUAWK, "--config", str(ROOT / ".squawk.toml"), "--reporter", "gcc", str(sql)]
    if excluded:
        args[1:1] = ["--exclude", excluded]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_migration_sets_its_own_lock_timeout():
    for path in sorted((ROOT / "db/migrations/versions").glob("[0-9]*.py")):
        text = path.read_text()
        for function in ("def upgrade", "def downgrade"):
            body = text.split(function, 1)[1].split("\ndef ", 1)[0]
            assert "lock_timeout(" in body, f"{path.name}: {function}() sets no lock_timeout"


def test_the_offline_sql_builds_the_same_schema_as_the_online_migrations(pg_server: PgServer):
    """`alembic upgrade head --sql`, applied by psql to an empty database, gives what the
    online migrations give (the steps rendered differently offline included)."""
    offline, online = unique_name("mukti_mig"), unique_name("mukti_mig")
    janitors = [janitor(pg_server, offline), janitor(pg_server, online)]
    for jan in janitors:
        jan.init()
    try:
        psql = str(Path(pg_dump_binary()).with_name("psql"))
        subprocess.run(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg_server.url(offline)],
            input=_render(None, "head"),
            text=True,
            check=True,
            capture_output=True,
            timeout=300,
        )
        command.upgrade(alembic_config(pg_server.url(online)), "head")
        assert _schema_dump(pg_server.url(offline)) == _schema_dump(pg_server.url(online))
    finally:
        for jan in janitors:
            jan.drop()
