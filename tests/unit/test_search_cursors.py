"""Cursors of history and search round-trip, refuse forgeries, and bind to their query."""

import struct
import uuid

import pytest

from api.conversations.service import HISTORY, history_before
from api.search.service import SEARCH, search_after, search_fingerprint
from core import cursors
from core.cursors import CursorError


def test_history_cursor_round_trips():
    assert history_before(cursors.encode(HISTORY, 4242)) == 4242


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "WzFd", cursors.encode(HISTORY, 1)[:-2], cursors.encode(HISTORY, 0), cursors.encode(HISTORY, 2**31)],
)
def test_history_cursor_refuses_garbage(cursor):
    with pytest.raises(CursorError):
        history_before(cursor)


def test_search_cursor_round_trips_the_exact_float4_rank():
    rank = struct.unpack("f", struct.pack("f", 0.1))[0]  # a float4 as asyncpg hands it over
    conversation = uuid.uuid4()
    fp = search_fingerprint("virtue", None)
    assert search_after(cursors.encode(SEARCH, rank, conversation, 7, fp), fp) == (rank, conversation, 7)


def test_search_cursor_is_bound_to_query_and_conversation():
    fp = search_fingerprint("virtue", None)
    cursor = cursors.encode(SEARCH, 0.5, uuid.uuid4(), 1, fp)
    for other in (search_fingerprint("justice", None), search_fingerprint("virtue", uuid.uuid4())):
        with pytest.raises(CursorError, match="belongs to a different query"):
            search_after(cursor, other)
    with pytest.raises(CursorError):
        search_after(cursors.encode(HISTORY, 3), fp)
