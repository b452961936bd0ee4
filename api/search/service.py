"""Full-text search over recent and archived messages."""

from __future__ import annotations

import hashlib
import uuid

import asyncpg

from api.errors import validation_error
from api.paging import page
from api.records import as_struct
from api.search.schemas import SearchHit, SearchPage
from core import cursors
from core.database.gateway import Db

MAX_QUERY_LENGTH = 1000
SEARCH = "search"  # the kind of this feature's cursors (core/cursors.py)


def search_fingerprint(q: str, conversation_id: uuid.UUID | None) -> str:
    """Binds a search cursor to its query: a cursor replayed with another query is refused, not misapplied."""
    return hashlib.sha256(f"{q}\x00{conversation_id or ''}".encode()).hexdigest()[:12]


def search_after(cursor: str, fingerprint: str) -> tuple[float, uuid.UUID, int]:
    """(rank, conversation_id, seq) of the last hit of the previous page of the query `fingerprint`."""
    rank, conversation_id, seq, bound_to = cursors.decode(
        cursor, SEARCH, cursors.REAL, cursors.UUID, cursors.INT4, cursors.TEXT
    )
    if bound_to != fingerprint:
        raise cursors.CursorError("belongs to a different query (q or conversation_id changed)")
    return rank, conversation_id, seq


async def search(
    db: Db,
    user_id: str,
    q: str | None,
    *,
    conversation_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> SearchPage:
    """The caller's messages matching `q` (web-search syntax), best first; lag-tolerant reads."""
    if q is None or not q.strip():
        raise validation_error("q", "must not be empty")
    if len(q) > MAX_QUERY_LENGTH:
        raise validation_error("q", f"must be at most {MAX_QUERY_LENGTH} characters")
    fingerprint = search_fingerprint(q, conversation_id)
    after_rank, after_conversation_id, after_seq = search_after(cursor, fingerprint) if cursor else (None, None, None)

    async def hits(tx: Db) -> list[asyncpg.Record]:
        # Both reads in one transaction (one scope). The span goes in as parameters, not a
        # subquery: only then does the planner prune the other months' partitions before
        # planning them (planning every partition dominated the query).
        span = await tx.fetchrow("search_archive_span", user_id=user_id, conversation_id=conversation_id)
        assert span is not None  # aggregates only: always one row
        return await tx.fetch(
            "search_messages",
            user_id=user_id,
            q=q,
            conversation_id=conversation_id,
            after_rank=after_rank,
            after_conversation_id=after_conversation_id,
            after_seq=after_seq,
            limit=limit + 1,
            archived_from=span["lo"],
            archived_until=span["hi"],
        )

    rows, next_cursor = page(
        await db.reads().run(hits),
        limit,
        lambda last: cursors.encode(SEARCH, last["rank"], last["conversation_id"], last["seq"], fingerprint),
    )
    items = [as_struct(r, SearchHit, conversation_id=str(r["conversation_id"])) for r in rows]
    return SearchPage(items=items, next_cursor=next_cursor)
