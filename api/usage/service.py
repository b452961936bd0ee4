"""Usage series and monthly reports, read from the durable daily aggregate.

Days are UTC calendar days, as in daily_usage_aggregates.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg

from api.errors import validation_error
from api.paging import page
from api.records import as_struct
from api.usage import schemas
from core import cursors
from core.database.gateway import Db

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Usage cannot predate the service nor lie far in the future; bounding the dates keeps
# the zero-filled series cheap and date arithmetic inside Postgres' range.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAYS_AHEAD = 366
GROUP_KEYS = {"technique": "technique_id", "model": "model"}
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _parse_day(field: str, raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise validation_error(field, "must be a date (YYYY-MM-DD)") from exc


def usage_range(raw_from: str | None, raw_to: str | None, today: date) -> tuple[date, date]:
    """The inclusive day range of a usage query: default the last 30 days up to today."""
    day_from, day_to = _parse_day("from", raw_from), _parse_day("to", raw_to)
    latest = today + timedelta(days=LATEST_DAYS_AHEAD)
    for field, day in (("from", day_from), ("to", day_to)):
        if day is not None and not EARLIEST_DAY <= day <= latest:
            raise validation_error(field, f"must be between {EARLIEST_DAY} and {latest}")
    if day_to is None:
        day_to = max(today, day_from) if day_from else today
    if day_from is None:
        day_from = day_to - timedelta(days=DEFAULT_DAYS - 1)
    if day_from > day_to:
        raise validation_error("from", "must not be after to")
    if (day_to - day_from).days + 1 > MAX_DAYS:
        raise validation_error("from", f"the range may span at most {MAX_DAYS} days")
    return day_from, day_to


def parse_group_by(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in GROUP_KEYS:
        raise validation_error("group_by", "must be technique or model")
    return raw


def parse_month(raw: str | None) -> date:
    match = _MONTH.match(raw or "")
    if match is None:
        raise validation_error("month", "must be a month as YYYY-MM")
    try:
        return date(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise validation_error("month", "must be a month from 0001-01 to 9999-12") from None


def utc_today() -> date:
    return datetime.now(UTC).date()


async def usage_series(
    db: Db, user_id: str, raw_from: str | None, raw_to: str | None, raw_group_by: str | None
) -> schemas.UsageSeries:
    """The days asked for, and today's usage, exact. A range of past days only is settled:
    the replica may serve it. A range that includes today reads the series and today's
    figures from the primary together, so that they agree."""
    group_by = parse_group_by(raw_group_by)
    day_from, day_to = usage_range(raw_from, raw_to, utc_today())

    async def series(tx: Db) -> list[asyncpg.Record]:
        return await tx.fetch(
            "usage_daily_series", user_id=uuid.UUID(user_id), day_from=day_from, day_to=day_to, group_by=group_by
        )

    async def today_figures(tx: Db) -> asyncpg.Record:
        row = await tx.fetchrow("usage_today", user_id=uuid.UUID(user_id))
        assert row is not None  # an aggregate without GROUP BY: always one row
        return row

    primary = db.reads(lag_tolerant=False)
    if day_to < utc_today():
        rows = await db.reads().run(series)
        today = await primary.run(today_figures)
    else:

        async def both(tx: Db) -> tuple[list[asyncpg.Record], asyncpg.Record]:
            return await series(tx), await today_figures(tx)

        rows, today = await primary.run(both)
    key = GROUP_KEYS.get(group_by or "")
    items = [
        as_struct(row, schemas.UsageDay, cost=str(row["cost"]), **({key: row["key"]} if key else {})) for row in rows
    ]
    return schemas.UsageSeries(
        items=items,
        today=as_struct(
            today,
            schemas.UsageToday,
            tokens=today["prompt_tokens"] + today["completion_tokens"],
            cost=str(today["cost"]),
        ),
    )


async def monthly_report(db: Db, raw_month: str | None, limit: int, cursor: str | None) -> schemas.MonthlyReport:
    month = parse_month(raw_month)
    (after_user_id,) = cursors.decode(cursor, "monthly_report", cursors.UUID) if cursor else (None,)
    rows = await db.fetch("usage_monthly_report", month=month, after_user_id=after_user_id, limit=limit + 1)
    items, next_cursor = page(rows, limit, lambda r: cursors.encode("monthly_report", r["user_id"]))
    return schemas.MonthlyReport(
        month=month.strftime("%Y-%m"),
        items=[as_struct(row, schemas.MonthlyReportItem, cost=str(row["cost"])) for row in items],
        next_cursor=next_cursor,
    )
