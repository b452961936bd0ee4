"""Database logic of the library. Every write is one statement or one SQL function call,
so each runs as one transaction: votes with their counts (mukti_cast_vote_v1), edits
with their version rows (mukti_edit_technique_v1), moderation decisions with their
audit_log rows (mukti_moderate_v1).

Techniques and resources are listed, paged, voted on and moderated alike: those steps
are written once here (`_list`, `cast_vote`, `_moderate`) and each kind adds only its own
queries and schemas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import asyncpg
import msgspec

from api.errors import not_found, validation_error
from api.library import schemas
from api.like import like_escape
from api.paging import page
from api.security import CurrentUser
from core.cursors import INT4, REAL, TIMESTAMP, UUID, decode, encode
from core.database.gateway import Db

Sort = Literal["top", "new"]
Target = Literal["technique", "resource"]
Decision = Literal["approve", "reject"]
Items = Literal["techniques", "resources"]

# The list query of each kind and order. Keys stay literals, so grep finds their callers
# (tests/unit/test_query_keys.py).
_LIST_QUERIES: dict[tuple[Items, Sort], Callable[..., Awaitable[list[asyncpg.Record]]]] = {
    ("techniques", "top"): lambda db, **params: db.fetch("library_list_techniques_top", **params),
    ("techniques", "new"): lambda db, **params: db.fetch("library_list_techniques_new", **params),
    ("resources", "top"): lambda db, **params: db.fetch("library_list_resources_top", **params),
    ("resources", "new"): lambda db, **params: db.fetch("library_list_resources_new", **params),
}


def like_pattern(q: str | None) -> str | None:
    """`q` as an ILIKE substring pattern, its own wildcards escaped; None for no filter.

    Substring matching rather than full-text search: names are short and often partial
    words ("socra", "5 whys") that stemming would miss, and the filter runs inside the
    ordered index scan of the list, which stops after one page of matches; the library
    is thousands of rows, not millions, so no text index is needed."""
    q = (q or "").strip()
    if not q:
        return None
    return f"%{like_escape(q)}%"


def _edits(data: msgspec.Struct) -> dict[str, object]:
    """A PATCH body as the edit queries' parameters, NULL for a field it leaves as it is;
    a body that changes nothing is a 422."""
    fields = {f: None if getattr(data, f) is msgspec.UNSET else getattr(data, f) for f in data.__struct_fields__}
    if all(value is None for value in fields.values()):
        raise validation_error("body", "give at least one field to change")
    return fields


def _found(row: asyncpg.Record | None, what: Target) -> asyncpg.Record:
    if row is None:
        raise not_found(what)
    return row


# The keyset of each order: its column, its parameter in the list queries, its cursor type.
_KEYSETS = {"top": ("score", "after_score", REAL), "new": ("created_at", "after_at", TIMESTAMP)}


def list_cursor(items: Items, sort: Sort, row: Mapping[str, Any]) -> str:
    """The cursor after `row` in the list of `items` in order `sort`."""
    return encode(f"{items}_{sort}", row[_KEYSETS[sort][0]], row["id"])


def list_after(items: Items, sort: Sort, cursor: str | None) -> dict[str, Any]:
    """The keyset parameters of a list query after `cursor` (NULLs for the first page). A
    cursor of another list or order is refused (CursorError, a 422) rather than misapplied."""
    _, param, field = _KEYSETS[sort]
    after_key, after_id = decode(cursor, f"{items}_{sort}", field, UUID) if cursor else (None, None)
    return {param: after_key, "after_id": after_id}


async def _list(
    db: Db, items: Items, user: CurrentUser, sort: Sort, q: str | None, limit: int, cursor: str | None
) -> tuple[list[asyncpg.Record], str | None]:
    """One page of techniques or resources, in either order."""
    rows = await _LIST_QUERIES[items, sort](
        db, user_id=user.id, pattern=like_pattern(q), limit=limit + 1, **list_after(items, sort, cursor)
    )
    return page(rows, limit, lambda row: list_cursor(items, sort, row))


# Techniques --------------------------------------------------------------------------


async def list_techniques(
    db: Db, user: CurrentUser, sort: Sort, q: str | None, limit: int, cursor: str | None
) -> schemas.TechniquePage:
    items, next_cursor = await _list(db, "techniques", user, sort, q, limit, cursor)
    return schemas.TechniquePage(items=[schemas.TechniqueSummary(**r) for r in items], next_cursor=next_cursor)


async def get_technique(db: Db, user: CurrentUser, technique_id: str) -> schemas.Technique:
    row = await db.fetchrow(
        "library_get_technique", technique_id=technique_id, user_id=user.id, is_moderator=user.is_moderator
    )
    return schemas.Technique(**_found(row, "technique"))


async def technique_stats(db: Db, technique_id: str) -> schemas.TechniqueStats:
    """Stats of an approved (or built-in) technique; any other is 404, whoever asks."""
    row = await db.fetchrow("library_technique_stats", technique_id=technique_id)
    return schemas.TechniqueStats(**_found(row, "technique"))


async def create_technique(db: Db, user: CurrentUser, data: schemas.TechniqueCreate) -> schemas.Technique:
    technique_id = await db.fetchval("library_create_technique", user_id=user.id, **msgspec.structs.asdict(data))
    return await get_technique(db, user, technique_id)


async def update_technique(
    db: Db, user: CurrentUser, technique_id: str, data: schemas.TechniqueUpdate
) -> schemas.Technique:
    version = await db.fetchval("library_edit_technique", user_id=user.id, technique_id=technique_id, **_edits(data))
    if version is None:
        raise not_found("technique")
    return await get_technique(db, user, technique_id)


async def delete_technique(db: Db, user: CurrentUser, technique_id: str) -> None:
    _found(await db.fetchrow("library_delete_technique", technique_id=technique_id, user_id=user.id), "technique")


async def list_versions(
    db: Db, user: CurrentUser, technique_id: str, limit: int, cursor: str | None
) -> schemas.TechniqueVersionPage:
    technique = await get_technique(db, user, technique_id)
    (before,) = decode(cursor, "versions", INT4) if cursor else (None,)
    rows = await db.fetch(
        "library_technique_versions",
        technique_id=technique_id,
        sees_all=user.is_moderator or technique.author_id == user.id,
        before_version=before,
        limit=limit + 1,
    )
    items, next_cursor = page(rows, limit, lambda row: encode("versions", row["version"]))
    return schemas.TechniqueVersionPage(items=[schemas.TechniqueVersion(**r) for r in items], next_cursor=next_cursor)


# Resources ---------------------------------------------------------------------------


async def list_resources(
    db: Db, user: CurrentUser, sort: Sort, q: str | None, limit: int, cursor: str | None
) -> schemas.ResourcePage:
    items, next_cursor = await _list(db, "resources", user, sort, q, limit, cursor)
    return schemas.ResourcePage(items=[schemas.Resource(**r) for r in items], next_cursor=next_cursor)


async def get_resource(db: Db, user: CurrentUser, resource_id: str) -> schemas.Resource:
    row = await db.fetchrow(
        "library_get_resource", resource_id=resource_id, user_id=user.id, is_moderator=user.is_moderator
    )
    return schemas.Resource(**_found(row, "resource"))


async def create_resource(db: Db, user: CurrentUser, data: schemas.ResourceCreate) -> schemas.Resource:
    resource_id = await db.fetchval("library_create_resource", user_id=user.id, **msgspec.structs.asdict(data))
    return await get_resource(db, user, resource_id)


async def update_resource(
    db: Db, user: CurrentUser, resource_id: str, data: schemas.ResourceUpdate
) -> schemas.Resource:
    updated = await db.fetchval("library_edit_resource", resource_id=resource_id, user_id=user.id, **_edits(data))
    if updated is None:
        raise not_found("resource")
    return await get_resource(db, user, resource_id)


async def delete_resource(db: Db, user: CurrentUser, resource_id: str) -> None:
    _found(await db.fetchrow("library_delete_resource", resource_id=resource_id, user_id=user.id), "resource")


# Votes and moderation, of either kind ------------------------------------------------


async def cast_vote(db: Db, user: CurrentUser, target: Target, target_id: str, value: int | None) -> schemas.VoteTally:
    """Set (+1/-1) or remove (None) the caller's vote; 404 when not visible, 403 on one's own."""
    row = await db.fetchrow("library_cast_vote", user_id=user.id, target=target, target_id=target_id, value=value)
    return schemas.VoteTally(**_found(row, target))


async def moderation_queue(db: Db, limit: int, cursor: str | None) -> schemas.QueuePage:
    after_at, after_id = decode(cursor, "queue", TIMESTAMP, UUID) if cursor else (None, None)
    rows = await db.fetch("library_moderation_queue", after_at=after_at, after_id=after_id, limit=limit + 1)
    items, next_cursor = page(rows, limit, lambda row: encode("queue", row["submitted_at"], row["id"]))
    return schemas.QueuePage(items=[schemas.QueueItem(**r) for r in items], next_cursor=next_cursor)


async def _moderate(
    db: Db,
    moderator: CurrentUser,
    target: Target,
    target_id: str,
    decision: Decision,
    reason: str | None,
    version: int | None = None,
) -> None:
    """Approve or reject, with its audit_log row, in one transaction. `version`: the
    technique version the moderator reviewed (a newer edit since then is a 409)."""
    await db.execute(
        "library_moderate",
        moderator_id=moderator.id,
        target=target,
        target_id=target_id,
        decision=decision,
        reason=reason,
        version=version,
    )


async def moderate_technique(
    db: Db, moderator: CurrentUser, technique_id: str, decision: Decision, reason: str | None, version: int | None
) -> schemas.Technique:
    await _moderate(db, moderator, "technique", technique_id, decision, reason, version=version)
    return await get_technique(db, moderator, technique_id)


async def moderate_resource(
    db: Db, moderator: CurrentUser, resource_id: str, decision: Decision, reason: str | None
) -> schemas.Resource:
    await _moderate(db, moderator, "resource", resource_id, decision, reason)
    return await get_resource(db, moderator, resource_id)
