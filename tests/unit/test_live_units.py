"""Live answers without a database: event ids, the view's cursor, the channel's payloads."""

from __future__ import annotations

import json

import pytest

from api.errors import ApiError
from api.live.service import LiveView, encode, parse_last_event_id
from db.stream_channel import PAYLOAD_BYTES, PIECE_CHARS, Piece, StateChanged, pack, split_piece, unpack


def _row(**values):
    base = {
        "status": "processing",
        "attempts": 1,
        "position": None,
        "partial": "",
        "reply_content": None,
        "reply_seq": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "stopped": False,
        "error": None,
    }
    return {**base, **values}


def test_last_event_id_is_attempt_and_offset_and_anything_else_is_422():
    assert parse_last_event_id(None) == (0, 0)
    assert parse_last_event_id("2-137") == (2, 137)
    for bad in ("x", "1", "1-", "-1-2", "1-2-3", "1.5-2", "9999999999-1"):
        with pytest.raises(ApiError) as caught:
            parse_last_event_id(bad)
        assert caught.value.status == 422 and caught.value.field == "Last-Event-ID"


def test_pieces_advance_the_offset_and_overlaps_are_not_repeated():
    view = LiveView("r", 0, 0)
    assert [o.kind for o in view.state(_row(partial="Why"))] == ["status", "delta"]
    assert view.text(1, 3, " do you") == [("delta", {"text": " do you"}, "1-10")]
    assert view.text(1, 0, "Why do you think") == [("delta", {"text": " think"}, "1-16")]  # overlap
    assert view.text(1, 30, "later") is None  # a gap: the caller reads the table
    assert view.offset == 16


def test_a_new_attempt_resets_a_client_that_holds_text_and_a_stale_one_is_ignored():
    view = LiveView("r", 1, 12)
    out = view.text(2, 0, "Again")
    assert [o.kind for o in out] == ["reset", "delta"] and out[0].id == "2-0" and out[1].id == "2-5"
    assert view.text(1, 12, "old") == []
    fresh = LiveView("r", 0, 0)
    assert [o.kind for o in fresh.text(2, 0, "Hi")] == ["delta"]  # nothing to reset


def test_a_finished_request_sends_what_is_missing_then_done():
    view = LiveView("r", 1, 4)
    outs = view.state(
        _row(
            status="completed",
            reply_content="What is it?",
            reply_seq=2,
            prompt_tokens=5,
            completion_tokens=4,
            stopped=True,
        )
    )
    assert [o.kind for o in outs] == ["delta", "done"] and outs[0].data == {"text": " is it?"}
    assert outs[1].data["reply"]["stopped"] is True and view.ended
    claimed_later = LiveView("r", 3, 50).state(_row(status="completed", reply_content="Hm?", reply_seq=2))
    assert [o.kind for o in claimed_later] == ["reset", "delta", "done"]


def test_consecutive_deltas_are_sent_as_one_event():
    view = LiveView("r", 1, 0)
    outs = [out for start, text in ((0, "a"), (1, "b"), (2, "c")) for out in view.text(1, start, text) or []]
    (message,) = encode(outs)
    assert message.id == "1-3" and json.loads(str(message.data)) == {"text": "abc"}


def test_payloads_stay_under_the_notify_limit_and_round_trip():
    pieces = [Piece(f"req-{i}", 1, i * 10, "ü" * 900) for i in range(40)]
    payloads = pack(pieces)
    assert len(payloads) > 1 and all(len(p.encode()) < PAYLOAD_BYTES for p in payloads)
    assert [item for p in payloads for item in unpack(p)] == pieces
    assert unpack('[["r","s"],["bad"],"junk"]') == [StateChanged("r")]
    long = list(split_piece(Piece("r", 1, 5, "x" * (PIECE_CHARS * 2 + 1))))
    assert [p.offset for p in long] == [5, 5 + PIECE_CHARS, 5 + 2 * PIECE_CHARS]
