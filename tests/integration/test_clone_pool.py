"""The test databases' clone pool (tests/harness.py): clones made ahead are real copies of
the template, what is given back and what was made ahead is dropped, and a drop that fails is raised
with its database's name instead of leaving the database behind unnoticed."""

from __future__ import annotations

import pytest

from tests.harness import ClonePool, PgServer, janitor, unique_name


def existing(pg_server: PgServer, names: list[str]) -> set[str]:
    with pg_server.connect() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchall()
    return {row[0] for row in rows}


def test_clones_are_copies_of_the_template_and_all_are_dropped(pg_server: PgServer, template_db: str):
    pool = ClonePool(pg_server, template_db)
    kept, given_back = pool.take(), pool.take()
    with pg_server.connect(kept) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    pool.give_back(given_back)
    pool.close()  # drops what was given back and the clones made ahead, not what is still taken
    assert len(pool.made) == 2 + ClonePool.AHEAD
    assert existing(pg_server, pool.made) == {kept}
    janitor(pg_server, kept).drop()


def test_a_failed_drop_is_raised_with_the_database_name(pg_server: PgServer, template_db: str):
    pool = ClonePool(pg_server, template_db)
    stuck = unique_name("mukti_t")
    jan = janitor(pg_server, stuck)
    jan.init()
    with pg_server.connect(autocommit=True) as conn:  # Postgres refuses to drop a template
        conn.execute(f'ALTER DATABASE "{stuck}" WITH is_template true')
    try:
        pool.give_back(stuck)
        with pytest.raises(ExceptionGroup) as raised:
            pool.close()
        assert f"dropping test database {stuck} failed" in str(raised.value.exceptions[0])
    finally:
        with pg_server.connect(autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{stuck}" WITH is_template false')
        jan.drop()
