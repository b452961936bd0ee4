"""The named queries of `db/sql/queries/*.sql`, with named parameters.

Each file holds blocks that start with a header line `-- name --`, may carry `-- `
description lines, and end where the next header starts. Names are global across files,
so a call site names a query without knowing its file; a duplicate is an error at load.

A parameter is written `:name` (casts stay `::type`). Each is rewritten to `$n` once,
at load: the same name gets the same number, and the query keeps the names in order, so
callers pass values by name and nothing has to line up with a position in another file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The SQL files are data of the `db` folder; reading them is not an import of it.
SQL_DIR = Path(__file__).resolve().parents[2] / "db" / "sql"
QUERIES_DIR = SQL_DIR / "queries"

_HEADER = re.compile(r"^--\s*([a-z_][a-z0-9_]*)\s*--\s*$")
# What a `:name` may not be rewritten inside: string literals, quoted identifiers,
# comments, dollar-quoted bodies and casts. The last alternative is a parameter.
_TOKENS = re.compile(
    r"""(?P<skip>'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|(?P<tag>\$[a-z_]*\$).*?(?P=tag)|::)"""
    r"""|(?P<positional>\$\d+)"""
    r"""|(?<![\w:]):(?P<param>[a-z_][a-z0-9_]*)""",
    re.DOTALL | re.IGNORECASE,
)


class QueryFileError(ValueError):
    """A queries file that cannot be loaded (duplicate or empty block, positional `$n`)."""


@dataclass(frozen=True, slots=True)
class Query:
    """One named query: its SQL with `$n` placeholders and the parameter names in order."""

    name: str
    sql: str
    params: tuple[str, ...]

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for `values`; a missing or unknown name is a bug."""
        if len(values) != len(self.params) or not all(name in values for name in self.params):
            missing = [name for name in self.params if name not in values]
            unknown = sorted(set(values) - set(self.params))
            raise TypeError(f"query {self.name!r}: missing parameters {missing}, unknown parameters {unknown}")
        return [values[name] for name in self.params]


def compile_query(name: str, text: str) -> Query:
    """Rewrite `:name` parameters to `$n`; a query written with `$n` is refused."""
    params: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group("skip") is not None:
            return match.group(0)
        if match.group("positional") is not None:
            raise QueryFileError(f"query {name!r}: write parameters as :name, not {match.group(0)}")
        param = match.group("param")
        if param not in params:
            params.append(param)
        return f"${params.index(param) + 1}"

    return Query(name, _TOKENS.sub(replace, text), tuple(params))


def parse_queries(text: str, source: str = "<string>") -> dict[str, Query]:
    """Split one file's text into {name: Query}; comments before the first header are ignored."""
    queries: dict[str, Query] = {}
    name: str | None = None
    body: list[str] = []

    def flush() -> None:
        if name is None:
            return
        sql = "\n".join(line for line in body if not line.lstrip().startswith("--")).strip()
        if not sql:
            raise QueryFileError(f"{source}: query {name!r} has no SQL")
        queries[name] = compile_query(name, sql)

    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if match:
            flush()
            name = match.group(1)
            if name in queries:
                raise QueryFileError(f"{source}: duplicate query name {name!r}")
            body = []
        elif name is not None:
            body.append(line)
    flush()
    return queries


def load_queries(directory: Path = QUERIES_DIR) -> dict[str, Query]:
    """All queries of all files in `directory`, by name."""
    merged: dict[str, Query] = {}
    origin: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        for name, query in parse_queries(path.read_text(), source=path.name).items():
            if name in merged:
                raise QueryFileError(f"duplicate query name {name!r} in {origin[name]} and {path.name}")
            merged[name] = query
            origin[name] = path.name
    return merged


QUERIES: dict[str, Query] = load_queries()
