"""Administration of users and their subscriptions. Every change is audit-logged."""

from __future__ import annotations

from api.accounts import schemas as account_schemas
from api.accounts.service import audit, change_plan, subscription
from api.admin import schemas
from api.errors import not_found, validation_error
from api.like import like_escape
from api.paging import page
from core import cursors
from core.database.gateway import Db


async def list_users(db: Db, q: str | None, limit: int, cursor: str | None) -> schemas.AdminUserPage:
    after_at, after_id = cursors.decode(cursor, "users", cursors.TIMESTAMP, cursors.UUID) if cursor else (None, None)
    rows = await db.fetch(
        "admin_users_list",
        q=like_escape(q) if q else None,
        after_at=after_at,
        after_id=after_id,
        limit=limit + 1,
    )
    items, next_cursor = page(rows, limit, lambda r: cursors.encode("users", r["created_at"], r["id"]))
    return schemas.AdminUserPage(items=[schemas.AdminUser(**dict(r)) for r in items], next_cursor=next_cursor)


async def update_user(db: Db, actor_id: str, user_id: str, data: schemas.UpdateUserRequest) -> schemas.AdminUser:
    if user_id == actor_id and (data.role not in (None, "admin") or data.status not in (None, "active")):
        # An admin locking themselves out could leave nobody able to administer.
        raise validation_error(
            "role" if data.role not in (None, "admin") else "status", "admins cannot demote or suspend themselves"
        )
    async with db.transaction() as tx:
        before = await tx.fetchrow("admin_users_get_for_update", user_id=user_id)
        if before is None:
            raise not_found("user")
        row = await tx.fetchrow("admin_users_update", user_id=user_id, role=data.role, status=data.status)
        assert row is not None  # the row is locked above: the update finds it
        if data.status == "suspended":
            # The access token is cut off by the middleware's status check; the session goes too.
            await tx.execute("accounts_revoke_user_tokens", user_id=user_id)
        await audit(
            tx,
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


async def set_plan(db: Db, actor_id: str, user_id: str, plan: str) -> account_schemas.Subscription:
    async with db.transaction() as tx:
        if await tx.fetchrow("admin_users_get_for_update", user_id=user_id) is None:
            raise not_found("user")
        await change_plan(tx, user_id, plan)  # an unknown plan fails on subscriptions_plan_fkey: 422
        await audit(tx, actor_id, "admin.plan_changed", "user", user_id, {"plan": plan})
        return await subscription(tx, user_id)
