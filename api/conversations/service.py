"""Database logic of the conversations feature: one named query (or one SQL function) per use."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from api.conversations import schemas
from api.conversations.batches import AcceptBatches, Question
from api.errors import ApiError, not_found, validation_error
from api.limits import MAX_QUESTION_CHARS
from api.paging import page
from api.records import as_struct
from api.security import account_unusable
from core import cursors
from core.database.gateway import Db
from core.database.wake import JobWaker

# The kinds of this feature's cursors (core/cursors.py).
CONVERSATIONS, HISTORY = "conversations", "history"


def _conversation(row: asyncpg.Record) -> schemas.Conversation:
    return as_struct(row, schemas.Conversation)


async def _technique(db: Db, user_id: str, technique_id: str | None) -> tuple[str | None, int | None]:
    """(id, version) of the technique to record; the default (maybe none) when not given."""
    if technique_id is not None:
        try:
            technique_id = str(uuid.UUID(technique_id))
        except ValueError as exc:
            raise validation_error("technique_id", "unknown technique") from exc
    row = await db.fetchrow("conversations_resolve_technique", user_id=user_id, technique_id=technique_id)
    if row is None:
        if technique_id is not None:
            raise validation_error("technique_id", "unknown technique")
        return None, None
    return row["id"], row["version"]


async def create_conversation(db: Db, user_id: str, data: schemas.ConversationCreate) -> schemas.Conversation:
    technique_id, version = await _technique(db, user_id, data.technique_id)
    if data.model is not None:
        await _check_model(db, user_id, data.model)
    row = await db.fetchrow(
        "conversations_create",
        user_id=user_id,
        title=data.title,
        technique_id=technique_id,
        technique_version=version,
        model=data.model,
    )
    return _conversation(row)


async def _check_model(db: Db, user_id: str, model: str) -> None:
    allowed = await db.fetchval("conversations_plan_models", user_id=user_id) or []
    if model not in allowed:
        raise validation_error("model", f"your plan allows {', '.join(allowed)}")


async def list_conversations(db: Db, user_id: str, limit: int, cursor: str | None) -> schemas.ConversationPage:
    after_at, after_id = (
        cursors.decode(cursor, CONVERSATIONS, cursors.TIMESTAMP, cursors.UUID) if cursor else (None, None)
    )
    rows = await db.fetch("conversations_list", user_id=user_id, after_at=after_at, after_id=after_id, limit=limit + 1)
    items, next_cursor = page(
        [_conversation(row) for row in rows],
        limit,
        lambda last: cursors.encode(CONVERSATIONS, last.last_activity_at, last.id),
    )
    return schemas.ConversationPage(items=items, next_cursor=next_cursor)


async def get_conversation(db: Db, user_id: str, conversation_id: str) -> schemas.ConversationDetail:
    row = await db.fetchrow("conversations_get", conversation_id=conversation_id, user_id=user_id)
    if row is None:
        raise not_found("conversation")
    messages = msgspec.convert(row["recent_messages"], list[schemas.Message])
    return schemas.ConversationDetail(**msgspec.structs.asdict(_conversation(row)), recent_messages=messages)


async def update_conversation(
    db: Db, user_id: str, conversation_id: str, data: schemas.ConversationUpdate
) -> schemas.Conversation:
    technique_id = version = None
    if isinstance(data.technique_id, str):  # changed to a technique, not to the default (null)
        technique_id, version = await _technique(db, user_id, data.technique_id)
    if isinstance(data.model, str):
        await _check_model(db, user_id, data.model)
    row = await db.fetchrow(
        "conversations_update",
        conversation_id=conversation_id,
        user_id=user_id,
        title=None if data.title is msgspec.UNSET else data.title,
        change_technique=data.technique_id is not msgspec.UNSET,
        technique_id=technique_id,
        technique_version=version,
        change_model=data.model is not msgspec.UNSET,
        model=data.model if isinstance(data.model, str) else None,
    )
    if row is None:
        raise not_found("conversation")
    return _conversation(row)


async def delete_conversation(db: Db, user_id: str, conversation_id: str) -> None:
    if not await db.fetchval("conversations_delete", conversation_id=conversation_id, user_id=user_id):
        raise not_found("conversation")


def check_content(content: str) -> None:
    if not content.strip():
        raise validation_error("content", "must not be empty")
    if len(content) > MAX_QUESTION_CHARS:
        raise validation_error("content", f"must be at most {MAX_QUESTION_CHARS} characters")


async def submit_question(
    accepts: AcceptBatches,
    waker: JobWaker | None,
    user_id: str,
    conversation_id: str,
    content: str | None,
    *,
    mode: str = "ask",
    seq: int | None = None,
) -> schemas.QuestionAccepted:
    """One call of mukti_submit_question_v7 (it scopes itself), alone or in one of this
    process's accept batches (api/conversations/batches.py): accepted, or a 401/404/409/429
    with nothing else written. `mode` is 'ask', 'regenerate' (the last reply again) or 'edit'
    (question `seq` gets `content`, its reply is regenerated). The function also checks that
    the user is active (the route skips the middleware's lookup). An accepted question pokes
    `waker` (the questions queue has no per-row NOTIFY, core/database/wake.py); None where no
    worker runs (benchmarks of the API path alone)."""
    if mode != "regenerate":
        check_content(content or "")
    row = await accepts.submit(Question(user_id, conversation_id, content, mode, seq))
    outcome = row["outcome"]
    if outcome == "accepted":
        if waker is not None:
            waker.poke()
        return schemas.QuestionAccepted(
            request_id=row["request_id"],
            status="pending",
            position=row["queue_position"],
            message_seq=row["message_seq"],
        )
    if outcome == "not_found":
        raise not_found(row["detail"] or "conversation")
    if outcome == "unauthorized":
        raise account_unusable()
    if outcome == "conflict":
        raise ApiError(409, row["detail"], code="conflict")
    retry_after = row["retry_after_seconds"]
    detail = row["detail"] or (
        "the daily question quota is used up" if outcome == "quota_exhausted" else "too many questions; slow down"
    )
    raise ApiError(
        429,
        f"{detail}; retry in {retry_after} s",
        code=outcome,
        headers={"Retry-After": str(retry_after)},
        extra={"retry_after": retry_after},
    )


async def queue_status(db: Db, user_id: str, request_id: str) -> schemas.QueueStatus:
    row = await db.fetchrow("conversations_queue_status", request_id=request_id, user_id=user_id)
    if row is None:
        raise not_found("request")
    reply = None
    if row["status"] == "completed" and row["reply_seq"] is not None:
        reply = schemas.Reply(
            seq=row["reply_seq"],
            content=row["reply_content"],
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            stopped=row["stopped"],
        )
    return as_struct(row, schemas.QueueStatus, reply=reply)


async def queue_overview(db: Db) -> schemas.QueueOverview:
    row = await db.fetchrow("conversations_admin_queue")
    assert row is not None  # aggregates only: always one row
    return as_struct(
        row,
        schemas.QueueOverview,
        pending_by_priority=msgspec.convert(row["pending_by_priority"], list[schemas.PendingCount]),
    )


def history_before(cursor: str) -> int:
    """The exclusive upper seq a history cursor stands for."""
    (before,) = cursors.decode(cursor, HISTORY, cursors.INT4)
    if before < 1:
        raise cursors.CursorError(f"must hold an integer from 1 to {cursors.INT4_MAX}")
    return before


async def history_page(
    db: Db, user_id: str, conversation_id: uuid.UUID, *, before: int | None, cursor: str | None, limit: int
) -> schemas.HistoryPage:
    """The `limit` messages just before seq `before` (exclusive; default: the newest), ascending.

    The newest page must show what was just asked: the primary serves it. Messages never
    change once written, so a replica that has the conversation's messages up to an older
    page's end serves it as the primary would; one that lags behind that far sends the
    read to the primary."""
    if cursor is not None:
        before = history_before(cursor)

    async def read(tx: Db) -> tuple[int, int, list[asyncpg.Record]] | None:
        message_count = await tx.fetchval("search_conversation_head", conversation_id=conversation_id, user_id=user_id)
        if message_count is None:
            return None
        # seq is contiguous from 1, so the page is the seq range [low, high].
        high = message_count if before is None else min(before - 1, message_count)
        low = max(1, high - limit + 1)
        rows = (
            await tx.fetch("search_history_page", conversation_id=conversation_id, low_seq=low, high_seq=high)
            if high >= 1
            else []
        )
        return low, high, rows

    reads = db.reads(lag_tolerant=before is not None)
    found = await reads.run(read)
    if found is not None and before is not None and found[1] < before - 1:
        found = await reads.on_primary().run(read)  # the replica is not this far yet
    if found is None:
        raise not_found("conversation")
    low, high, rows = found
    items = [
        schemas.HistoryMessage(seq=r["seq"], role=r["role"], content=r["content"], created_at=r["created_at"])
        for r in rows
    ]
    next_cursor = cursors.encode(HISTORY, low) if high >= 1 and low > 1 else None
    return schemas.HistoryPage(items=items, next_cursor=next_cursor)
