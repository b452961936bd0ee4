"""Routes: /admin/users (admins only)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, patch, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler

from api.accounts.schemas import Subscription
from api.admin import schemas, service
from api.paging import DEFAULT_LIMIT, Cursor, Limit
from api.security import requires_admin
from core.database.gateway import Db

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
LISTING_ACCOUNTS = "admin: every account"
UPDATING_ACCOUNT = "admin: another user's account"
SETTING_PLAN = "admin: another user's subscription"


class AdminUsersController(Controller):
    path = "/admin/users"
    tags = ["admin"]
    guards = [requires_admin]

    @get("", summary="Users, newest first; q filters email and display name")
    async def list_users(
        self,
        db: NamedDependency[Db],
        q: Annotated[str | None, QueryParameter(max_length=320)] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.AdminUserPage:
        return await service.list_users(db.as_service(LISTING_ACCOUNTS), q, limit, cursor)

    @patch("/{user_id:uuid}", summary="Change a user's role or status (suspension cuts off their tokens)")
    async def update_user(
        self,
        request: Request,
        db: NamedDependency[Db],
        user_id: FromPath[UUID],
        data: JSONBody[schemas.UpdateUserRequest],
    ) -> schemas.AdminUser:
        return await service.update_user(db.as_service(UPDATING_ACCOUNT), request.user.id, str(user_id), data)

    @put("/{user_id:uuid}/subscription", summary="Move a user to another plan")
    async def set_plan(
        self, request: Request, db: NamedDependency[Db], user_id: FromPath[UUID], data: JSONBody[schemas.SetPlanRequest]
    ) -> Subscription:
        return await service.set_plan(db.as_service(SETTING_PLAN), request.user.id, str(user_id), data.plan)


ROUTE_HANDLERS: list[ControllerRouterHandler] = [AdminUsersController]
