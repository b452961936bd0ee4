"""History paging and full-text search over recent and archived messages."""

from __future__ import annotations

import uuid

import asyncpg

from api.errors import not_found, validation_error
from api.search.cursors import (
    decode_history_cursor,
    decode_search_cursor,
    encode_history_cursor,
    encode_search_cursor,
    search_fingerprint,
)
from api.search.schemas import HistoryMessage, HistoryPage, SearchHit, SearchPage
from core.database.replica import Reads
from db.queries import QUERIES

MAX_QUERY_LENGTH = 1000


async def history_page(
    reads: Reads, user_id: str, conversation_id: uuid.UUID, *, before: int | None, cursor: str | None, limit: int
) -> HistoryPage:
    """The `limit` messages just before seq `before` (exclusive; default: the newest), ascending.

    Messages never change once written, so a replica that has the conversation's messages
    up to the page's end serves it as the primary would; one that lags behind that far
    sends the read to the primary."""
    if cursor is not None:
        before = decode_history_cursor(cursor)
    if before is not None and before < 1:
        raise validation_error("before", "must be a positive seq")

    async def page(conn: asyncpg.Connection) -> tuple[int, int, list[asyncpg.Record]] | None:
        message_count = await conn.fetchval(QUERIES["search_conversation_head"], conversation_id, uuid.UUID(user_id))
        if message_count is None:
            return None
        # seq is contiguous from 1, so the page is the seq range [low, high].
        high = message_count if before is None else min(before - 1, message_count)
        low = max(1, high - limit + 1)
        rows = await conn.fetch(QUERIES["search_history_page"], conversation_id, low, high) if high >= 1 else []
        return low, high, rows

    found = await reads.run(page)
    if found is not None and before is not None and found[1] < before - 1 and reads.lag_tolerant:
        found = await reads.on_primary().run(page)  # the replica is not this far yet
    if found is None:
        raise not_found("conversation")
    low, high, rows = found
    items = [
        HistoryMessage(seq=r["seq"], role=r["role"], content=r["content"], created_at=r["created_at"]) for r in rows
    ]
    return HistoryPage(items=items, next_cursor=encode_history_cursor(low) if high >= 1 and low > 1 else None)


async def search(
    reads: Reads,
    user_id: str,
    q: str | None,
    *,
    conversation_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> SearchPage:
    """The caller's messages matching `q` (web-search syntax), best first."""
    if q is None or not q.strip():
        raise validation_error("q", "must not be empty")
    if len(q) > MAX_QUERY_LENGTH:
        raise validation_error("q", f"must be at most {MAX_QUERY_LENGTH} characters")
    fingerprint = search_fingerprint(q, conversation_id)
    after: tuple[float | None, uuid.UUID | None, int | None] = (None, None, None)
    if cursor is not None:
        after = decode_search_cursor(cursor, fingerprint)
    user = uuid.UUID(user_id)

    async def hits(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        # Both reads in one transaction (one scope). The span goes in as parameters, not a
        # subquery: only then does the planner prune the other months' partitions before
        # planning them (planning every partition dominated the query).
        span = await conn.fetchrow(QUERIES["search_archive_span"], user, conversation_id)
        return await conn.fetch(
            QUERIES["search_messages"], user, q, conversation_id, *after, limit + 1, span["lo"], span["hi"]
        )

    rows = await reads.run(hits)
    items = [
        SearchHit(
            conversation_id=str(r["conversation_id"]),
            seq=r["seq"],
            role=r["role"],
            snippet=r["snippet"],
            rank=r["rank"],
            created_at=r["created_at"],
        )
        for r in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_search_cursor(last["rank"], last["conversation_id"], last["seq"], fingerprint)
    return SearchPage(items=items, next_cursor=next_cursor)
