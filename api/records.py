"""Rows to response structs, by name: one place instead of each service spelling out every field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import asyncpg
import msgspec

S = TypeVar("S", bound=msgspec.Struct)


def as_struct(row: asyncpg.Record | Mapping[str, Any], struct: type[S], **given: Any) -> S:
    """`struct` with each field taken from the row's column of the same name, unless given.

    A field the row lacks keeps its default (msgspec names a missing required one), so a
    query's extra columns and a struct's optional fields need no code here.
    """
    columns = set(row.keys())
    taken = {name: row[name] for name in struct.__struct_fields__ if name in columns and name not in given}
    return struct(**taken, **given)
