"""Transitional: the queries as SQL text by name, for callers not yet on the gateway
(core/database/gateway.py). The loader lives in core/database/queries.py."""

from __future__ import annotations

from core.database.queries import QUERIES as _COMPILED
from core.database.queries import QueryFileError, load_queries, parse_queries, sql_file

QUERIES: dict[str, str] = {name: query.sql for name, query in _COMPILED.items()}

__all__ = ["QUERIES", "QueryFileError", "load_queries", "parse_queries", "sql_file"]
