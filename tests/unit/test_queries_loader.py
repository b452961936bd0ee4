from pathlib import Path

import pytest

from core.database.queries import QUERIES, Query, QueryFileError, compile_query, load_queries, parse_queries


def test_parses_named_blocks_and_drops_comment_lines():
    text = """-- file comment, ignored
-- first_query --
-- what it does
SELECT 1;

-- second_query --
SELECT *
  FROM t -- trailing comments stay
 WHERE x = :x;
"""
    queries = parse_queries(text)
    assert queries == {
        "first_query": Query("first_query", "SELECT 1;", ()),
        "second_query": Query("second_query", "SELECT *\n  FROM t -- trailing comments stay\n WHERE x = $1;", ("x",)),
    }


def test_named_parameters_become_numbered_once_each_in_order_of_first_use():
    query = compile_query("q", "SELECT :b::int, :a, :b, ':not_a_param', \"col:x\" -- :nor_this\n, $$ :body $$, a::text")
    assert query.sql == "SELECT $1::int, $2, $1, ':not_a_param', \"col:x\" -- :nor_this\n, $$ :body $$, a::text"
    assert query.params == ("b", "a")
    assert query.args({"a": 1, "b": 2}) == [2, 1]


def test_missing_or_unknown_parameters_are_named():
    query = compile_query("q", "SELECT :a, :b")
    with pytest.raises(TypeError, match=r"'q': missing parameters \['b'\], unknown parameters \['c'\]"):
        query.args({"a": 1, "c": 3})


def test_positional_parameters_are_refused():
    with pytest.raises(QueryFileError, match=r"'q': write parameters as :name, not \$1"):
        compile_query("q", "SELECT :a, $1")


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
    assert all(query.sql.strip() for query in QUERIES.values())
