"""Response bodies of history paging and search."""

from __future__ import annotations

from datetime import datetime

import msgspec

from api.enums import MessageRole


class HistoryMessage(msgspec.Struct):
    seq: int
    role: MessageRole
    content: str
    created_at: datetime


class HistoryPage(msgspec.Struct):
    items: list[HistoryMessage]
    next_cursor: str | None


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
