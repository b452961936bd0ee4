"""Database logic of the dialogue feature: export, message versions, feedback."""

from __future__ import annotations

import re
import unicodedata
from uuid import UUID

import asyncpg

from api.dialogue import schemas
from api.errors import not_found, validation_error
from api.records import as_struct
from core.database.gateway import Db


async def export(db: Db, user_id: str, conversation_id: UUID) -> schemas.ExportedConversation:
    async with db.transaction(isolation="repeatable_read", readonly=True) as tx:
        # One snapshot: a message archived between the two reads is seen once.
        head = await tx.fetchrow("dialogue_export_head", conversation_id=conversation_id, user_id=user_id)
        if head is None:
            raise not_found("conversation")
        rows = await tx.fetch("dialogue_export_messages", conversation_id=conversation_id, user_id=user_id)
    return as_struct(
        head, schemas.ExportedConversation, messages=[schemas.ExportedMessage(**dict(row)) for row in rows]
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


async def versions(db: Db, user_id: str, conversation_id: UUID, seq: int) -> schemas.VersionList:
    rows = await db.fetch("dialogue_versions", conversation_id=conversation_id, user_id=user_id, seq=seq)
    if not rows:
        raise not_found("message")
    return schemas.VersionList(items=[schemas.MessageVersion(**dict(row)) for row in rows])


async def _reply(db: Db, user_id: str, conversation_id: UUID, seq: int) -> asyncpg.Record:
    message = await db.fetchrow("dialogue_message", conversation_id=conversation_id, user_id=user_id, seq=seq)
    if message is None:
        raise not_found("message")
    if message["role"] != "assistant":
        raise validation_error("seq", "feedback is for the tutor's replies, not your own messages")
    return message


async def put_feedback(
    db: Db, user_id: str, conversation_id: UUID, seq: int, data: schemas.FeedbackPut
) -> schemas.Feedback:
    message = await _reply(db, user_id, conversation_id, seq)
    row = await db.fetchrow(
        "dialogue_put_feedback",
        conversation_id=conversation_id,
        seq=seq,
        version=message["version"],
        user_id=user_id,
        value=data.value,
        comment=data.comment,
        model=message["model"],
        technique_id=message["technique_id"],
    )
    assert row is not None  # an upsert with RETURNING: always one row
    return schemas.Feedback(seq=seq, **dict(row))


async def delete_feedback(db: Db, user_id: str, conversation_id: UUID, seq: int) -> None:
    message = await _reply(db, user_id, conversation_id, seq)
    deleted = await db.fetchval(
        "dialogue_delete_feedback",
        conversation_id=conversation_id,
        seq=seq,
        version=message["version"],
        user_id=user_id,
    )
    if not deleted:
        raise not_found("feedback")
