"""Administration of users and their subscriptions. Every change is audit-logged."""

from __future__ import annotations

import asyncpg

from api.accounts import schemas as account_schemas
from api.accounts.paging import decode_cursor, next_cursor
from api.accounts.service import audit, change_plan, subscription
from api.admin import schemas
from api.errors import not_found, validation_error
from db.queries import QUERIES


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_users(pool: asyncpg.Pool, q: str | None, limit: int, cursor: str | None) -> schemas.AdminUserPage:
    after_time, after_id = decode_cursor(cursor)
    rows = await pool.fetch(
        QUERIES["admin_users_list"], limit + 1, _like_escape(q) if q else None, after_time, after_id
    )
    return schemas.AdminUserPage(
        items=[schemas.AdminUser(**dict(r)) for r in rows[:limit]], next_cursor=next_cursor(rows, limit)
    )


async def update_user(
    pool: asyncpg.Pool, actor_id: str, user_id: str, data: schemas.UpdateUserRequest
) -> schemas.AdminUser:
    if user_id == actor_id and (data.role not in (None, "admin") or data.status not in (None, "active")):
        # An admin locking themselves out could leave nobody able to administer.
        raise validation_error(
            "role" if data.role not in (None, "admin") else "status", "admins cannot demote or suspend themselves"
        )
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchrow(QUERIES["admin_users_get_for_update"], user_id)
        if before is None:
            raise not_found("user")
        row = await conn.fetchrow(QUERIES["admin_users_update"], user_id, data.role, data.status)
        if data.status == "suspended":
            # The access token is cut off by the middleware's status check; the session goes too.
            await conn.execute(QUERIES["accounts_revoke_user_tokens"], user_id)
        await audit(
            conn,
            actor_id,
            "admin.user_updated",
            "user",
            user_id,
            {
                "before": {"role": before["role"], "status": before["status"]},
                "after": {"role": row["role"], "status": row["status"]},
            },
        )
    return schemas.AdminUser(**dict(row))


async def set_plan(pool: asyncpg.Pool, actor_id: str, user_id: str, plan: str) -> account_schemas.Subscription:
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchrow(QUERIES["admin_users_get_for_update"], user_id) is None:
            raise not_found("user")
        await change_plan(conn, user_id, plan)  # an unknown plan fails on subscriptions_plan_fkey: 422
        await audit(conn, actor_id, "admin.plan_changed", "user", user_id, {"plan": plan})
        return await subscription(conn, user_id)
