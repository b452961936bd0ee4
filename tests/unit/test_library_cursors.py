"""Library cursors and search patterns (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.errors import ApiError
from api.library.service import decode_cursor, encode_cursor, like_pattern

ID = "3f8e0b8e-8a53-4c2b-9a59-0e0d0a3c7a11"


@pytest.mark.parametrize(
    "tag,key",
    [
        ("techniques_top", 0.20654329147389294),
        ("resources_new", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("queue", datetime(2026, 1, 2, tzinfo=UTC)),
    ],
)
def test_cursors_round_trip_exactly(tag, key):
    assert decode_cursor(encode_cursor(tag, key, ID), tag) == (key, ID)


def test_version_cursor_round_trips_without_id():
    assert decode_cursor(encode_cursor("versions", 7), "versions") == (7, None)
    assert decode_cursor(None, "versions") == (None, None)


@pytest.mark.parametrize(
    "cursor,tag",
    [
        ("not base64 at all!", "techniques_top"),
        ("bm9wZQ", "techniques_top"),
        (encode_cursor("techniques_new", 0.5, ID), "techniques_top"),
        (encode_cursor("techniques_top", "high", ID), "techniques_top"),  # type: ignore[arg-type]
        (encode_cursor("techniques_top", 0.5, "not-a-uuid"), "techniques_top"),
        (encode_cursor("resources_new", "yesterday", ID), "resources_new"),  # type: ignore[arg-type]
        (encode_cursor("versions", "7"), "versions"),  # type: ignore[arg-type]
    ],
)
def test_foreign_or_forged_cursors_are_422(cursor, tag):
    with pytest.raises(ApiError) as caught:
        decode_cursor(cursor, tag)
    assert caught.value.status == 422 and caught.value.field == "cursor"


def test_like_pattern_escapes_wildcards():
    assert like_pattern("  ") is None and like_pattern(None) is None
    assert like_pattern("100%_a\\b") == "%100\\%\\_a\\\\b%"
