"""The one codec of the API's opaque page cursors.

A cursor is the keyset of the last row of a page: a kind (which listing issued it) and
its values, as URL-safe base64 of a JSON array. It is opaque but not trusted: anyone can
edit one, so decoding checks the kind and each value against what its column can hold,
and anything else is a `CursorError` (the API answers 422 naming `cursor`), never a
driver overflow.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

INT4_MAX = 2**31 - 1  # seq, version: Postgres integer
FLOAT4_MAX = 3.4028234663852886e38  # rank (real) and score (double) alike


class CursorError(ValueError):
    """A cursor this API did not issue (or one of another listing or query)."""


def _int4(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= INT4_MAX:
        raise CursorError(f"must hold an integer from 0 to {INT4_MAX}")
    return value


def _real(value: Any) -> float:
    # Floats travel as repr(), which round-trips exactly: the keyset comparison in SQL
    # sees the very value it produced.
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise CursorError("must hold a number") from None
    if not math.isfinite(number) or abs(number) > FLOAT4_MAX:
        raise CursorError("holds a number out of range")
    return number


def _timestamp(value: Any) -> datetime:
    # Naive means UTC; converting to UTC is where year 1 or 9999 with an offset overflows.
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        raise CursorError("holds a timestamp out of range") from None


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise CursorError("is not a cursor this API issued") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise CursorError("is not a cursor this API issued")
    return value


# What a cursor's value may be, by the type of its column.
INT4: Callable[[Any], int] = _int4
REAL: Callable[[Any], float] = _real
TIMESTAMP: Callable[[Any], datetime] = _timestamp
UUID: Callable[[Any], uuid.UUID] = _uuid
TEXT: Callable[[Any], str] = _text


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return value


def encode(kind: str, *values: Any) -> str:
    """The cursor of listing `kind` after the row whose keyset is `values`."""
    raw = json.dumps([kind, *map(_plain, values)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, kind: str, *fields: Callable[[Any], Any]) -> tuple[Any, ...]:
    """The keyset values of a cursor of listing `kind`, each checked by its field type."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("is not a cursor this API issued") from None
    if not isinstance(payload, list) or len(payload) != len(fields) + 1 or payload[0] != kind:
        raise CursorError("is not a cursor this API issued")
    return tuple(field(value) for field, value in zip(fields, payload[1:], strict=True))
