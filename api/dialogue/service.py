"""Database logic of the dialogue feature: export, message versions, feedback."""

from __future__ import annotations

import re
import unicodedata
from uuid import UUID

import asyncpg

from api.dialogue import schemas
from api.errors import not_found, validation_error
from db.queries import QUERIES


async def export(pool: asyncpg.Pool, user_id: str, conversation_id: UUID) -> schemas.ExportedConversation:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot: a message archived between the two reads is seen once.
        head = await conn.fetchrow(QUERIES["dialogue_export_head"], conversation_id, user_id)
        if head is None:
            raise not_found("conversation")
        rows = await conn.fetch(QUERIES["dialogue_export_messages"], conversation_id, user_id)
    return schemas.ExportedConversation(
        id=head["id"],
        title=head["title"],
        technique=head["technique"],
        model=head["model"],
        created_at=head["created_at"],
        messages=[schemas.ExportedMessage(**dict(row)) for row in rows],
    )


def as_markdown(conversation: schemas.ExportedConversation) -> str:
    lines = [f"# {conversation.title}", ""]
    if conversation.technique:
        lines += [f"Technique: {conversation.technique}", ""]
    for message in conversation.messages:
        who = "You" if message.role == "user" else "Tutor"
        stamp = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
        lines += [f"## {message.seq}. {who} ({stamp})", "", message.content, ""]
    return "\n".join(lines)


def file_name(title: str, extension: str) -> str:
    """A file name safe in any header and on any file system: ASCII letters, digits, - and _."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-")[:80] or "conversation"
    return f"{stem}.{extension}"


async def versions(pool: asyncpg.Pool, user_id: str, conversation_id: UUID, seq: int) -> schemas.VersionList:
    rows = await pool.fetch(QUERIES["dialogue_versions"], conversation_id, user_id, seq)
    if not rows:
        raise not_found("message")
    return schemas.VersionList(items=[schemas.MessageVersion(**dict(row)) for row in rows])


async def _reply(conn: asyncpg.Connection | asyncpg.Pool, user_id: str, conversation_id: UUID, seq: int):
    message = await conn.fetchrow(QUERIES["dialogue_message"], conversation_id, user_id, seq)
    if message is None:
        raise not_found("message")
    if message["role"] != "assistant":
        raise validation_error("seq", "feedback is for the tutor's replies, not your own messages")
    return message


async def put_feedback(
    pool: asyncpg.Pool, user_id: str, conversation_id: UUID, seq: int, data: schemas.FeedbackPut
) -> schemas.Feedback:
    message = await _reply(pool, user_id, conversation_id, seq)
    row = await pool.fetchrow(
        QUERIES["dialogue_put_feedback"],
        conversation_id,
        seq,
        message["version"],
        user_id,
        data.value,
        data.comment,
        message["model"],
        message["technique_id"],
    )
    return schemas.Feedback(seq=seq, **dict(row))


async def delete_feedback(pool: asyncpg.Pool, user_id: str, conversation_id: UUID, seq: int) -> None:
    message = await _reply(pool, user_id, conversation_id, seq)
    if not await pool.fetchval(QUERIES["dialogue_delete_feedback"], conversation_id, seq, message["version"], user_id):
        raise not_found("feedback")
