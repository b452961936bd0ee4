"""Named queries run through Procrastinate's psycopg connector (jobs/connector.py)."""

from __future__ import annotations

from core.database.queries import QUERIES, compile_query
from jobs.connector import pyformat


def test_named_parameters_become_psycopg_placeholders():
    query = compile_query("q", "SELECT :a::int, '100%' || :b, :a WHERE x LIKE 'a%'")
    assert pyformat(query) == "SELECT %(a)s::int, '100%%' || %(b)s, %(a)s WHERE x LIKE 'a%%'"


def test_the_maintenance_queries_keep_their_names():
    assert pyformat(QUERIES["maintenance_purge_expired"]) == (
        "SELECT mukti_purge_expired_v1(%(table)s, %(keep)s::interval, %(batch)s) AS deleted;"
    )
    assert "%(back)s + %(ahead)s + 1" in pyformat(QUERIES["maintenance_ensure_partitions"])
