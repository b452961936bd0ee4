"""Routes: GET /me/usage and GET /admin/reports/monthly (admins only)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.types import ControllerRouterHandler

from api.paging import DEFAULT_LIMIT, Cursor, Limit
from api.security import requires_admin
from api.usage import schemas, service
from core.database.gateway import Db

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
MONTHLY_REPORT = "admin: the monthly report covers every user"


class UsageController(Controller):
    path = "/me/usage"
    tags = ["usage"]

    @get("", summary="Your usage per UTC day (zeros included), optionally per technique or model; and today's, exact")
    async def my_usage(
        self,
        request: Request,
        db: NamedDependency[Db],
        from_: Annotated[str | None, QueryParameter(name="from")] = None,
        to: FromQuery[str | None] = None,
        group_by: FromQuery[str | None] = None,
    ) -> schemas.UsageSeries:
        return await service.usage_series(db, request.user.id, from_, to, group_by)


class ReportsController(Controller):
    path = "/admin/reports"
    tags = ["admin"]
    guards = [requires_admin]

    @get("/monthly", summary="Usage per user in a month (YYYY-MM), from the durable daily aggregate")
    async def monthly_report(
        self,
        db: NamedDependency[Db],
        month: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.MonthlyReport:
        return await service.monthly_report(db.as_service(MONTHLY_REPORT).reads(), month, limit, cursor)


ROUTE_HANDLERS: list[ControllerRouterHandler] = [UsageController, ReportsController]
