"""docs/analytics.md's reference section is what the COMMENTs on the analytics schema
say (db/analytics_docs.py generates it), and every relation and column has one."""

from __future__ import annotations

import psycopg

from db.analytics_docs import DOC, current_section, render, uncommented


def test_every_analytics_relation_and_column_has_a_comment(database_url):
    with psycopg.connect(database_url) as conn:
        assert uncommented(conn) == []


def test_the_docs_reference_section_is_generated_from_the_comments(database_url):
    with psycopg.connect(database_url) as conn:
        generated = render(conn)
    assert current_section(DOC.read_text()) == generated, "run: python -m db.analytics_docs (see its docstring)"
