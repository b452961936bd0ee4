from pathlib import Path

import pytest

from db.queries import QUERIES, QueryFileError, load_queries, parse_queries


def test_parses_named_blocks_and_drops_comment_lines():
    text = """-- file comment, ignored
-- first_query --
-- what it does
SELECT 1;

-- second_query --
SELECT *
  FROM t -- trailing comments stay
 WHERE x = $1;
"""
    queries = parse_queries(text)
    assert queries == {
        "first_query": "SELECT 1;",
        "second_query": "SELECT *\n  FROM t -- trailing comments stay\n WHERE x = $1;",
    }


def test_duplicate_name_in_one_file_is_an_error():
    with pytest.raises(QueryFileError, match="duplicate query name 'q'"):
        parse_queries("-- q --\nSELECT 1;\n-- q --\nSELECT 2;\n")


def test_duplicate_name_across_files_is_an_error(tmp_path: Path):
    (tmp_path / "a.sql").write_text("-- q --\nSELECT 1;\n")
    (tmp_path / "b.sql").write_text("-- q --\nSELECT 2;\n")
    with pytest.raises(QueryFileError, match="in a.sql and b.sql"):
        load_queries(tmp_path)


def test_empty_block_is_an_error():
    with pytest.raises(QueryFileError, match="has no SQL"):
        parse_queries("-- q --\n-- only a description\n")


def test_project_queries_load():
    assert "migration_version" in QUERIES
    assert all(sql.strip() for sql in QUERIES.values())
