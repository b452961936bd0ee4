"""Cursors of history and search round-trip, refuse forgeries, and bind to their query."""

import uuid

import pytest

from api.errors import ApiError
from api.search.cursors import (
    decode_history_cursor,
    decode_search_cursor,
    encode_history_cursor,
    encode_search_cursor,
    search_fingerprint,
)


def test_history_cursor_round_trips():
    assert decode_history_cursor(encode_history_cursor(4242)) == 4242


@pytest.mark.parametrize("cursor", ["", "!!!", "WzFd", encode_history_cursor(1)[:-2]])
def test_history_cursor_refuses_garbage(cursor):
    with pytest.raises(ApiError) as error:
        decode_history_cursor(cursor)
    assert error.value.status == 422 and error.value.field == "cursor"


def test_search_cursor_round_trips_the_exact_float4_rank():
    import struct

    rank = struct.unpack("f", struct.pack("f", 0.1))[0]  # a float4 as asyncpg hands it over
    conversation = uuid.uuid4()
    fp = search_fingerprint("virtue", None)
    assert decode_search_cursor(encode_search_cursor(rank, conversation, 7, fp), fp) == (rank, conversation, 7)


def test_search_cursor_is_bound_to_query_and_conversation():
    fp = search_fingerprint("virtue", None)
    cursor = encode_search_cursor(0.5, uuid.uuid4(), 1, fp)
    for other in (search_fingerprint("justice", None), search_fingerprint("virtue", uuid.uuid4())):
        with pytest.raises(ApiError):
            decode_search_cursor(cursor, other)
    with pytest.raises(ApiError):
        decode_search_cursor(encode_history_cursor(3), fp)
