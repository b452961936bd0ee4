"""Response bodies of full-text search."""

from __future__ import annotations

from datetime import datetime

import msgspec

from api.enums import MessageRole


class SearchHit(msgspec.Struct):
    conversation_id: str
    seq: int
    role: MessageRole
    snippet: str
    rank: float
    created_at: datetime


class SearchPage(msgspec.Struct):
    items: list[SearchHit]
    next_cursor: str | None
