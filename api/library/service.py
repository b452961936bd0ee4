"""Database logic of the library. Every write is one statement or one SQL function call,
so each runs as one transaction: votes with their counts (mukti_cast_vote_v1), edits
with their version rows (mukti_edit_technique_v1), moderation decisions with their
audit_log rows (mukti_moderate_v1)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Literal

import asyncpg
import msgspec

from api.bounds import int4, real, timestamp
from api.errors import not_found, validation_error
from api.library import schemas
from api.security import CurrentUser
from db.queries import QUERIES

Sort = Literal["top", "new"]
Target = Literal["technique", "resource"]


# Cursors -----------------------------------------------------------------------------


def encode_cursor(tag: str, key: float | datetime | int, row_id: str | None = None) -> str:
    # repr() of a float round-trips exactly, so the keyset comparison meets the very score
    # the database returned; timestamps keep their microseconds in isoformat.
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps([tag, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, tag: str) -> tuple[float | datetime | int | None, str | None]:
    """(sort key, id) of the last item seen, (None, None) for the first page. A cursor of
    another list or sort order is refused rather than misapplied."""
    if not cursor:
        return None, None
    try:
        found, key, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if found != tag:
            raise ValueError(found)
        if tag.endswith("new") or tag == "queue":
            key = timestamp(key, "cursor")
        elif tag.endswith("top"):
            key = real(key, "cursor")
        else:
            key = int4(key, "cursor")
        return key, (str(uuid.UUID(row_id)) if row_id is not None else None)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise validation_error("cursor", "is not a cursor this API issued for this list") from exc


def _page(
    rows: list[asyncpg.Record], limit: int, tag: str, key: str, with_id: bool = True
) -> tuple[list[asyncpg.Record], str | None]:
    """Rows fetched as limit + 1: the page, and the cursor after it when there is more."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(tag, last[key], last["id"] if with_id else None)


def like_pattern(q: str | None) -> str | None:
    """`q` as an ILIKE substring pattern, its own wildcards escaped; None for no filter.

    Substring matching rather than full-text search: names are short and often partial
    words ("socra", "5 whys") that stemming would miss, and the filter runs inside the
    ordered index scan of the list, which stops after one page of matches; the library
    is thousands of rows, not millions, so no text index is needed."""
    q = (q or "").strip()
    if not q:
        return None
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _changes(data: msgspec.Struct) -> dict[str, object]:
    """The fields a PATCH body sets; none at all is a 422."""
    fields = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET}
    if not fields:
        raise validation_error("body", "give at least one field to change")
    return fields


# Techniques --------------------------------------------------------------------------


async def list_techniques(
    pool: asyncpg.Pool, user: CurrentUser, sort: Sort, q: str | None, limit: int, cursor: str | None
) -> schemas.TechniquePage:
    tag = f"techniques_{sort}"
    key, after_id = decode_cursor(cursor, tag)
    rows = await pool.fetch(
        QUERIES[f"library_list_techniques_{sort}"], user.id, like_pattern(q), key, after_id, limit + 1
    )
    page, next_cursor = _page(rows, limit, tag, "score" if sort == "top" else "created_at")
    return schemas.TechniquePage(items=[schemas.TechniqueSummary(**r) for r in page], next_cursor=next_cursor)


async def get_technique(
    conn: asyncpg.Pool | asyncpg.Connection, user: CurrentUser, technique_id: str
) -> schemas.Technique:
    row = await conn.fetchrow(QUERIES["library_get_technique"], technique_id, user.id, user.is_moderator)
    if row is None:
        raise not_found("technique")
    return schemas.Technique(**row)


async def technique_stats(conn: asyncpg.Pool | asyncpg.Connection, technique_id: str) -> schemas.TechniqueStats:
    """Stats of an approved (or built-in) technique; any other is 404, whoever asks."""
    row = await conn.fetchrow(QUERIES["library_technique_stats"], technique_id)
    if row is None:
        raise not_found("technique")
    return schemas.TechniqueStats(**row)


async def create_technique(pool: asyncpg.Pool, user: CurrentUser, data: schemas.TechniqueCreate) -> schemas.Technique:
    technique_id = await pool.fetchval(
        QUERIES["library_create_technique"],
        user.id,
        data.name,
        data.description,
        data.system_prompt,
        data.questioning_style,
    )
    return await get_technique(pool, user, technique_id)


async def update_technique(
    pool: asyncpg.Pool, user: CurrentUser, technique_id: str, data: schemas.TechniqueUpdate
) -> schemas.Technique:
    fields = _changes(data)
    version = await pool.fetchval(
        QUERIES["library_edit_technique"],
        user.id,
        technique_id,
        fields.get("name"),
        fields.get("description"),
        fields.get("system_prompt"),
        fields.get("questioning_style"),
    )
    if version is None:
        raise not_found("technique")
    return await get_technique(pool, user, technique_id)


async def delete_technique(pool: asyncpg.Pool, user: CurrentUser, technique_id: str) -> None:
    if await pool.fetchval(QUERIES["library_delete_technique"], technique_id, user.id) is None:
        raise not_found("technique")


async def list_versions(
    pool: asyncpg.Pool, user: CurrentUser, technique_id: str, limit: int, cursor: str | None
) -> schemas.TechniqueVersionPage:
    technique = await get_technique(pool, user, technique_id)
    sees_all = user.is_moderator or technique.author_id == user.id
    before, _ = decode_cursor(cursor, "versions")
    rows = await pool.fetch(QUERIES["library_technique_versions"], technique_id, sees_all, before, limit + 1)
    page, next_cursor = _page(rows, limit, "versions", "version", with_id=False)
    return schemas.TechniqueVersionPage(items=[schemas.TechniqueVersion(**r) for r in page], next_cursor=next_cursor)


# Resources ---------------------------------------------------------------------------


async def list_resources(
    pool: asyncpg.Pool, user: CurrentUser, sort: Sort, q: str | None, limit: int, cursor: str | None
) -> schemas.ResourcePage:
    tag = f"resources_{sort}"
    key, after_id = decode_cursor(cursor, tag)
    rows = await pool.fetch(
        QUERIES[f"library_list_resources_{sort}"], user.id, like_pattern(q), key, after_id, limit + 1
    )
    page, next_cursor = _page(rows, limit, tag, "score" if sort == "top" else "created_at")
    return schemas.ResourcePage(items=[schemas.Resource(**r) for r in page], next_cursor=next_cursor)


async def get_resource(pool: asyncpg.Pool, user: CurrentUser, resource_id: str) -> schemas.Resource:
    row = await pool.fetchrow(QUERIES["library_get_resource"], resource_id, user.id, user.is_moderator)
    if row is None:
        raise not_found("resource")
    return schemas.Resource(**row)


async def create_resource(pool: asyncpg.Pool, user: CurrentUser, data: schemas.ResourceCreate) -> schemas.Resource:
    resource_id = await pool.fetchval(
        QUERIES["library_create_resource"], user.id, data.title, data.url, data.description, data.kind
    )
    return await get_resource(pool, user, resource_id)


async def update_resource(
    pool: asyncpg.Pool, user: CurrentUser, resource_id: str, data: schemas.ResourceUpdate
) -> schemas.Resource:
    fields = _changes(data)
    updated = await pool.fetchval(
        QUERIES["library_edit_resource"],
        resource_id,
        user.id,
        fields.get("title"),
        fields.get("url"),
        fields.get("description"),
        fields.get("kind"),
    )
    if updated is None:
        raise not_found("resource")
    return await get_resource(pool, user, resource_id)


async def delete_resource(pool: asyncpg.Pool, user: CurrentUser, resource_id: str) -> None:
    if await pool.fetchval(QUERIES["library_delete_resource"], resource_id, user.id) is None:
        raise not_found("resource")


# Votes and moderation ----------------------------------------------------------------


async def cast_vote(
    pool: asyncpg.Pool, user: CurrentUser, target: Target, target_id: str, value: int | None
) -> schemas.VoteTally:
    """Set (+1/-1) or remove (None) the caller's vote; 404 when not visible, 403 on one's own."""
    row = await pool.fetchrow(QUERIES["library_cast_vote"], user.id, target, target_id, value)
    return schemas.VoteTally(**row)


async def moderation_queue(pool: asyncpg.Pool, limit: int, cursor: str | None) -> schemas.QueuePage:
    submitted_at, after_id = decode_cursor(cursor, "queue")
    rows = await pool.fetch(QUERIES["library_moderation_queue"], submitted_at, after_id, limit + 1)
    page, next_cursor = _page(rows, limit, "queue", "submitted_at")
    return schemas.QueuePage(items=[schemas.QueueItem(**r) for r in page], next_cursor=next_cursor)


async def moderate(
    pool: asyncpg.Pool,
    moderator: CurrentUser,
    target: Target,
    target_id: str,
    decision: Literal["approve", "reject"],
    reason: str | None,
    version: int | None,
) -> None:
    """Approve or reject, with its audit_log row, in one transaction."""
    await pool.execute(QUERIES["library_moderate"], moderator.id, target, target_id, decision, reason, version)
