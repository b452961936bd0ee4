"""Routes: GET /me/usage and GET /admin/reports/monthly (admins only)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.params import FromQuery, QueryParameter

from api.accounts.paging import DEFAULT_LIMIT, MAX_LIMIT
from api.database import service_reads, user_reads
from api.security import requires_admin
from api.usage import schemas, service

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
MONTHLY_REPORT = "admin: the monthly report covers every user"


@get(
    "/me/usage",
    tags=["usage"],
    summary="Your usage per UTC day (zeros included), optionally per technique or model; and today's, exact",
)
async def my_usage(
    request: Request,
    from_: Annotated[str | None, QueryParameter(name="from")] = None,
    to: FromQuery[str | None] = None,
    group_by: FromQuery[str | None] = None,
) -> schemas.UsageSeries:
    return await service.usage_series(
        user_reads(request), user_reads(request, lag_tolerant=False), request.user.id, from_, to, group_by
    )


@get(
    "/admin/reports/monthly",
    tags=["administration"],
    guards=[requires_admin],
    summary="Usage per user in a month (YYYY-MM), from the durable daily aggregate",
)
async def monthly_report(
    request: Request,
    month: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: FromQuery[str | None] = None,
) -> schemas.MonthlyReport:
    return await service.monthly_report(service_reads(request, MONTHLY_REPORT), month, limit, cursor)
