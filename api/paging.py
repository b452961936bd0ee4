"""The one paging convention of the API's listings.

A listing takes `limit` (1 to its maximum) and `cursor` (the previous page's
`next_cursor`, absent for the first page) and answers `{items, next_cursor}`; the last
page has `next_cursor: null`. The query asks for `limit + 1` rows after the cursor's
keyset: the extra row only says that another page exists. Cursors: core/cursors.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from litestar.params import FromQuery, QueryParameter

Row = TypeVar("Row")

# The page size of a listing when the client names none, and the most it may ask for.
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

# A listing's query parameters, declared once. Search and a conversation's history describe
# theirs in the OpenAPI document (the Described* pair); the other listings do not.
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]
Cursor = FromQuery[str | None]
DescribedLimit = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"page size (default {DEFAULT_LIMIT}, max {MAX_LIMIT})")
]
DescribedCursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]


def page(rows: Sequence[Row], limit: int, cursor_of: Callable[[Row], str]) -> tuple[list[Row], str | None]:
    """The first `limit` rows, and the cursor after the last of them when more follow."""
    items = list(rows[:limit])
    return items, (cursor_of(items[-1]) if len(rows) > limit and items else None)
