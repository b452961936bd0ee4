"""The wire format of channel `mukti_stream`: how the workers tell the API processes about
live replies (the design is written down in jobs/relay.py and api/live/relay.py).

A notification's payload is a JSON array of items, each an array:
  [request_id, "d", attempt, offset, text]  a piece of the reply of that attempt, starting
                                            at character `offset` of the attempt's text
  [request_id, "s"]                         the request changed state (processing started,
                                            a retry waits, completed, failed, cancelled):
                                            readers look it up
The workers pack pieces of many replies into one payload, up to PAYLOAD_BYTES (Postgres
refuses payloads of 8,000 bytes and more). SQL functions send state items themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

CHANNEL = "mukti_stream"
PAYLOAD_BYTES = 7500
# A piece longer than this is split: even at 4 bytes a character it fits one payload.
PIECE_CHARS = 1500


@dataclass(frozen=True, slots=True)
class Piece:
    request_id: str
    attempt: int
    offset: int
    text: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    request_id: str


def split_piece(piece: Piece) -> Iterator[Piece]:
    for start in range(0, len(piece.text), PIECE_CHARS):
        yield Piece(piece.request_id, piece.attempt, piece.offset + start, piece.text[start : start + PIECE_CHARS])


def pack(pieces: Iterable[Piece]) -> list[str]:
    """Payloads carrying every piece, each under PAYLOAD_BYTES."""
    payloads: list[str] = []
    items: list[str] = []
    size = 2
    for piece in pieces:
        item = json.dumps([piece.request_id, "d", piece.attempt, piece.offset, piece.text], ensure_ascii=False)
        length = len(item.encode()) + 1
        if length + 2 > PAYLOAD_BYTES:
            continue  # escapes made it too big: readers see the gap and read the piece from the table
        if items and size + length > PAYLOAD_BYTES:
            payloads.append("[" + ",".join(items) + "]")
            items, size = [], 2
        items.append(item)
        size += length
    if items:
        payloads.append("[" + ",".join(items) + "]")
    return payloads


def unpack(payload: str) -> list[Piece | StateChanged]:
    """The items of a payload; malformed items are skipped (the readers' poll catches up)."""
    try:
        raw = json.loads(payload)
    except ValueError:
        return []
    items: list[Piece | StateChanged] = []
    for item in raw if isinstance(raw, list) else ():
        try:
            if item[1] == "d":
                items.append(Piece(str(item[0]), int(item[2]), int(item[3]), str(item[4])))
            elif item[1] == "s":
                items.append(StateChanged(str(item[0])))
        except (IndexError, TypeError, ValueError):
            continue
    return items
