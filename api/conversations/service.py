"""Database logic of the conversations feature: one named query (or one SQL function) per use."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

import asyncpg
import msgspec

from api.bounds import timestamp
from api.conversations import schemas
from api.errors import ApiError, not_found, validation_error
from api.limits import MAX_QUESTION_CHARS
from api.security import account_unusable
from core.database.wake import JobWaker
from core.settings import Settings
from db.queries import QUERIES

MAX_LIMIT = 100


def parse_id(raw: str, what: str) -> str:
    """A path id as a canonical UUID string; anything else names no object (404)."""
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise not_found(what) from exc


def encode_cursor(last_activity_at: datetime, conversation_id: str) -> str:
    raw = json.dumps([last_activity_at.isoformat(), conversation_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, conversation_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return timestamp(at, "cursor"), str(uuid.UUID(conversation_id))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise validation_error("cursor", "not a cursor this API issued") from exc


def _conversation(row: asyncpg.Record) -> schemas.Conversation:
    return schemas.Conversation(
        id=row["id"],
        title=row["title"],
        technique_id=row["technique_id"],
        technique_version=row["technique_version"],
        message_count=row["message_count"],
        last_activity_at=row["last_activity_at"],
        created_at=row["created_at"],
        model=row["model"],
    )


async def _technique(
    conn: asyncpg.Connection | asyncpg.Pool, user_id: str, technique_id: str | None
) -> tuple[str | None, int | None]:
    """(id, version) of the technique to record; the default (maybe none) when not given."""
    if technique_id is not None:
        try:
            technique_id = str(uuid.UUID(technique_id))
        except ValueError as exc:
            raise validation_error("technique_id", "unknown technique") from exc
    row = await conn.fetchrow(QUERIES["conversations_resolve_technique"], user_id, technique_id)
    if row is None:
        if technique_id is not None:
            raise validation_error("technique_id", "unknown technique")
        return None, None
    return row["id"], row["version"]


async def create_conversation(
    pool: asyncpg.Pool, user_id: str, data: schemas.ConversationCreate
) -> schemas.Conversation:
    technique_id, version = await _technique(pool, user_id, data.technique_id)
    if data.model is not None:
        await _check_model(pool, user_id, data.model)
    row = await pool.fetchrow(QUERIES["conversations_create"], user_id, data.title, technique_id, version, data.model)
    return _conversation(row)


async def _check_model(pool: asyncpg.Pool, user_id: str, model: str) -> None:
    allowed = await pool.fetchval(QUERIES["conversations_plan_models"], user_id) or []
    if model not in allowed:
        raise validation_error("model", f"your plan allows {', '.join(allowed)}")


async def list_conversations(
    pool: asyncpg.Pool, user_id: str, limit: int, cursor: str | None
) -> schemas.ConversationPage:
    if not 1 <= limit <= MAX_LIMIT:
        raise validation_error("limit", f"must be 1 to {MAX_LIMIT}")
    after_at, after_id = decode_cursor(cursor) if cursor else (None, None)
    rows = await pool.fetch(QUERIES["conversations_list"], user_id, after_at, after_id, limit + 1)
    items = [_conversation(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].last_activity_at, items[-1].id) if len(rows) > limit else None
    return schemas.ConversationPage(items=items, next_cursor=next_cursor)


async def get_conversation(pool: asyncpg.Pool, user_id: str, conversation_id: str) -> schemas.ConversationDetail:
    row = await pool.fetchrow(QUERIES["conversations_get"], conversation_id, user_id)
    if row is None:
        raise not_found("conversation")
    messages = msgspec.convert(row["recent_messages"], list[schemas.Message])
    return schemas.ConversationDetail(**msgspec.structs.asdict(_conversation(row)), recent_messages=messages)


async def update_conversation(
    pool: asyncpg.Pool, user_id: str, conversation_id: str, data: schemas.ConversationUpdate
) -> schemas.Conversation:
    change_technique = data.technique_id is not msgspec.UNSET
    technique_id = version = None
    if isinstance(data.technique_id, str):  # changed to a technique, not to the default (null)
        technique_id, version = await _technique(pool, user_id, data.technique_id)
    title = None if data.title is msgspec.UNSET else data.title
    change_model = data.model is not msgspec.UNSET
    if isinstance(data.model, str):
        await _check_model(pool, user_id, data.model)
    row = await pool.fetchrow(
        QUERIES["conversations_update"],
        conversation_id,
        user_id,
        title,
        change_technique,
        technique_id,
        version,
        change_model,
        data.model if isinstance(data.model, str) else None,
    )
    if row is None:
        raise not_found("conversation")
    return _conversation(row)


async def delete_conversation(pool: asyncpg.Pool, user_id: str, conversation_id: str) -> None:
    if not await pool.fetchval(QUERIES["conversations_delete"], conversation_id, user_id):
        raise not_found("conversation")


def check_content(content: str) -> None:
    if not content.strip():
        raise validation_error("content", "must not be empty")
    if len(content) > MAX_QUESTION_CHARS:
        raise validation_error("content", f"must be at most {MAX_QUESTION_CHARS} characters")


async def submit_question(
    pool: asyncpg.Pool,
    settings: Settings,
    waker: JobWaker | None,
    user_id: str,
    conversation_id: str,
    content: str | None,
    *,
    mode: str = "ask",
    seq: int | None = None,
) -> schemas.QuestionAccepted:
    """One call of mukti_submit_question_v3: accepted, or a 401/404/409/429 with nothing else
    written. `mode` is 'ask', 'regenerate' (the last reply again) or 'edit' (question `seq`
    gets `content`, its reply is regenerated). The function also checks that the user is
    active (the route skips the middleware's lookup). An accepted question pokes `waker`
    (the questions queue has no per-row NOTIFY, core/database/wake.py); None where no
    worker runs (benchmarks of the API path alone)."""
    if mode != "regenerate":
        check_content(content or "")
    row = await pool.fetchrow(
        QUERIES["conversations_submit_question"],
        user_id,
        conversation_id,
        content,
        settings.burst_limit,
        settings.burst_window,
        settings.max_attempts,
        mode,
        seq,
    )
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


async def queue_status(pool: asyncpg.Pool, user_id: str, request_id: str) -> schemas.QueueStatus:
    row = await pool.fetchrow(QUERIES["conversations_queue_status"], request_id, user_id)
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
    return schemas.QueueStatus(
        request_id=row["request_id"],
        status=row["status"],
        position=row["position"],
        attempts=row["attempts"],
        reply=reply,
        error=row["error"],
        partial=row["partial"],
    )


async def queue_overview(pool: asyncpg.Pool) -> schemas.QueueOverview:
    row = await pool.fetchrow(QUERIES["conversations_admin_queue"])
    return schemas.QueueOverview(
        pending_by_priority=msgspec.convert(row["pending_by_priority"], list[schemas.PendingCount]),
        processing=row["processing"],
        failed_24h=row["failed_24h"],
        oldest_pending_seconds=row["oldest_pending_seconds"],
    )
