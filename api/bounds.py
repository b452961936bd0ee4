"""Bounds on values decoded from client input (cursors, dates, months).

A cursor is opaque but not trusted: anyone can edit one. Each value it carries is checked
against what its column or query parameter can hold before it reaches SQL, so a tampered
value is a 422 naming the field, never a driver overflow (a 500).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from api.errors import ApiError, validation_error

INT4_MAX = 2**31 - 1  # seq, version: Postgres integer
FLOAT4_MAX = 3.4028234663852886e38  # rank (real) and score (double) alike


def _bad(field: str, message: str) -> ApiError:
    return validation_error(field, message)


def int4(value: Any, field: str, *, minimum: int = 0) -> int:
    if type(value) is not int or not minimum <= value <= INT4_MAX:
        raise _bad(field, f"must hold an integer from {minimum} to {INT4_MAX}")
    return value


def real(value: Any, field: str) -> float:
    """A finite number a Postgres real can hold (from a number or its repr)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _bad(field, "must hold a number") from None
    if not math.isfinite(number) or abs(number) > FLOAT4_MAX:
        raise _bad(field, "holds a number out of range")
    return number


def timestamp(value: Any, field: str) -> datetime:
    """An ISO 8601 timestamp, as an aware UTC datetime (naive means UTC). Converting to
    UTC is where year 1 or 9999 with an offset overflows: that is a 422 too."""
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        raise _bad(field, "holds a timestamp out of range") from None


def month_start(year: int, month: int, field: str) -> date:
    try:
        return date(year, month, 1)
    except ValueError:
        raise _bad(field, "must be a month from 0001-01 to 9999-12") from None
