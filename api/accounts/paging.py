"""Opaque keyset cursors over (created_at, id), newest first."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from api.bounds import timestamp
from api.errors import validation_error

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime | None, str | None]:
    """(created_at, id) of the last row seen, or (None, None) for the first page."""
    if not cursor:
        return None, None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        return timestamp(created_at, "cursor"), str(uuid.UUID(row_id))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise validation_error("cursor", "is not a cursor this API issued") from exc


def next_cursor(rows: list, limit: int) -> str | None:
    """The cursor after a page of `limit` rows fetched as limit + 1 (the extra one is dropped by the caller)."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(last["created_at"], last["id"])
