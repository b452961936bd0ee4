"""Opaque cursors of the search feature.

Pure functions (no database), unit-tested in tests/unit/test_search_cursors.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid

from api.bounds import int4, real
from api.errors import validation_error


def _encode(payload: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise validation_error("cursor", "is not a cursor this API issued") from exc
    if not isinstance(payload, list):
        raise validation_error("cursor", "is not a cursor this API issued")
    return payload


def encode_history_cursor(before: int) -> str:
    return _encode(["h", before])


def decode_history_cursor(cursor: str) -> int:
    """The exclusive upper seq the cursor stands for."""
    payload = _decode(cursor)
    if len(payload) != 2 or payload[0] != "h":
        raise validation_error("cursor", "is not a cursor this API issued")
    return int4(payload[1], "cursor", minimum=1)


def search_fingerprint(q: str, conversation_id: uuid.UUID | None) -> str:
    """Binds a search cursor to its query: a cursor replayed with another query is refused, not misapplied."""
    return hashlib.sha256(f"{q}\x00{conversation_id or ''}".encode()).hexdigest()[:12]


def encode_search_cursor(rank: float, conversation_id: uuid.UUID, seq: int, fingerprint: str) -> str:
    # repr() of the float4 rank read as a double round-trips exactly, so the keyset
    # comparison in SQL sees the very value it produced.
    return _encode(["s", repr(rank), str(conversation_id), seq, fingerprint])


def decode_search_cursor(cursor: str, fingerprint: str) -> tuple[float, uuid.UUID, int]:
    """(rank, conversation_id, seq) of the last item of the previous page."""
    payload = _decode(cursor)
    try:
        tag, rank, conversation_id, seq, bound_to = payload
        if tag != "s":
            raise ValueError(tag)
        decoded = (real(rank, "cursor"), uuid.UUID(conversation_id), int4(seq, "cursor"))
    except (ValueError, TypeError, AttributeError) as exc:
        raise validation_error("cursor", "is not a cursor this API issued") from exc
    if bound_to != fingerprint:
        raise validation_error("cursor", "belongs to a different query (q or conversation_id changed)")
    return decoded
