"""Library cursors and search patterns (no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from litestar import get
from litestar.params import FromQuery
from litestar.testing import create_test_client

from api.errors import EXCEPTION_HANDLERS
from api.library.service import like_pattern, list_after, list_cursor
from core.cursors import INT4, CursorError, decode, encode

ID = "3f8e0b8e-8a53-4c2b-9a59-0e0d0a3c7a11"


@pytest.mark.parametrize(
    "items,sort,row,after",
    [
        ("techniques", "top", {"score": 0.20654329147389294, "id": ID}, "after_score"),
        ("resources", "new", {"created_at": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "id": ID}, "after_at"),
    ],
)
def test_list_cursors_round_trip_exactly(items, sort, row, after):
    params = list_after(items, sort, list_cursor(items, sort, row))
    key = row["score" if sort == "top" else "created_at"]
    assert params == {after: key, "after_id": uuid.UUID(ID)}
    assert list_after(items, sort, None) == {after: None, "after_id": None}


def test_version_cursor_round_trips():
    assert decode(encode("versions", 7), "versions", INT4) == (7,)


@pytest.mark.parametrize(
    "cursor,items,sort",
    [
        ("not base64 at all!", "techniques", "top"),
        ("bm9wZQ", "techniques", "top"),
        (encode("techniques_new", 0.5, ID), "techniques", "top"),
        (encode("resources_top", 0.5, ID), "techniques", "top"),
        (encode("techniques_top", "high", ID), "techniques", "top"),
        (encode("techniques_top", 0.5, "not-a-uuid"), "techniques", "top"),
        (encode("resources_new", "yesterday", ID), "resources", "new"),
    ],
)
def test_foreign_or_forged_cursors_are_422_naming_cursor(cursor, items, sort):
    with pytest.raises(CursorError):
        list_after(items, sort, cursor)

    @get("/")
    async def listing(cursor: FromQuery[str]) -> None:
        list_after(items, sort, cursor)

    with create_test_client([listing], exception_handlers=EXCEPTION_HANDLERS) as client:
        response = client.get("/", params={"cursor": cursor})
    assert response.status_code == 422 and response.json()["field"] == "cursor"


def test_forged_version_cursor_is_refused():
    with pytest.raises(CursorError):
        decode(encode("versions", "7"), "versions", INT4)


def test_like_pattern_escapes_wildcards():
    assert like_pattern("  ") is None and like_pattern(None) is None
    assert like_pattern("100%_a\\b") == "%100\\%\\_a\\\\b%"
