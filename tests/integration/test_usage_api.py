"""GET /me/usage (chart-ready daily series from the durable aggregate) and
GET /admin/reports/monthly."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from tests.factories import create_user
from tests.integration.usage_support import record_usage

ENSURE = "SELECT mukti_ensure_partitions_v1('usage_events', 'day', $1, $2)"


def _today() -> date:
    return datetime.now(UTC).date()


def _at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


async def _direct_counts(db, user_id: str, key: str | None = None) -> dict:
    """Questions, tokens and cost per UTC day (and key) counted straight from usage_events."""
    key_sql = {"model": "model", "technique": "technique_id::text"}.get(key or "", "NULL::text")
    rows = await db.fetch(
        f"SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, {key_sql} AS key, count(*) AS questions, "
        "sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cost) AS cost "
        "FROM usage_events WHERE user_id = $1 GROUP BY 1, 2",
        uuid.UUID(user_id),
    )
    return {
        (row["day"].isoformat(), row["key"]): (
            row["questions"],
            row["prompt_tokens"],
            row["completion_tokens"],
            row["cost"],
        )
        for row in rows
    }


def _series(items: list[dict], key: str | None = None) -> dict:
    return {
        (item["day"], item.get(key) if key else None): (
            item["questions"],
            item["prompt_tokens"],
            item["completion_tokens"],
            Decimal(item["cost"]),
        )
        for item in items
    }


@pytest.fixture
async def usage(db, settings):
    """A user with usage on several recent days, two models and two techniques; another user's too."""
    user = await create_user(db, settings)
    other = await create_user(db, settings)
    today = _today()
    await db.fetchval(ENSURE, _at(today - timedelta(days=45), 0), 47)
    techniques = [str(uuid.uuid4()), str(uuid.uuid4())]
    plan = [  # (days ago, hour, minute, second, model, technique, prompt, completion, cost)
        (0, 0, 0, 1, "socrates-small", techniques[0], 120, 30, "0.001000"),
        (0, 0, 5, 0, "socrates-large", techniques[1], 300, 90, "0.009000"),
        (0, 0, 10, 0, "socrates-small", None, 80, 20, "0.000700"),
        (2, 23, 59, 59, "socrates-small", techniques[0], 50, 10, "0.000300"),
        (2, 0, 0, 0, "socrates-small", techniques[0], 60, 15, "0.000350"),
        (6, 12, 0, 0, "socrates-large", techniques[1], 500, 200, "0.020000"),
        (40, 12, 0, 0, "socrates-large", None, 1, 1, "0.000010"),
    ]
    for days_ago, hour, minute, second, model, technique, prompt, completion, cost in plan:
        await record_usage(
            db,
            user.id,
            _at(today - timedelta(days=days_ago), hour, minute, second),
            model=model,
            technique_id=technique,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost=cost,
        )
    await record_usage(db, other.id, _at(today, 0, 1), prompt_tokens=999)
    return user


async def test_daily_series_equals_a_direct_count_from_events(client, db, usage):
    today = _today()
    days = [(today - timedelta(days=n)).isoformat() for n in range(9, -1, -1)]
    response = await client.get("/me/usage", params={"from": days[0], "to": days[-1]}, headers=usage.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["day"] for item in body["items"]] == days
    counted = await _direct_counts(db, usage.id)
    zero = (0, 0, 0, Decimal(0))
    assert _series(body["items"]) == {(day, None): counted.get((day, None), zero) for day in days}
    assert "model" not in body["items"][0] and "technique_id" not in body["items"][0]

    questions, prompt, completion, cost = counted[(today.isoformat(), None)]
    assert body["today"] == {
        "day": today.isoformat(),
        "questions": questions,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens": prompt + completion,
        "cost": str(cost),
    }


@pytest.mark.parametrize("group_by, key", [("model", "model"), ("technique", "technique_id")])
async def test_grouped_series_has_every_day_for_every_key(client, db, usage, group_by, key):
    today = _today()
    days = [(today - timedelta(days=n)).isoformat() for n in range(6, -1, -1)]
    response = await client.get(
        "/me/usage", params={"from": days[0], "to": days[-1], "group_by": group_by}, headers=usage.headers
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    counted = {k: v for k, v in (await _direct_counts(db, usage.id, group_by)).items() if k[0] in days}
    keys = {k[1] for k in counted}
    assert len(items) == len(days) * len(keys)
    zero = (0, 0, 0, Decimal(0))
    assert _series(items, key) == {(day, k): counted.get((day, k), zero) for day in days for k in keys}


async def test_usage_defaults_to_the_last_30_days_and_today_is_current(client, db, usage):
    today = _today()
    first = (await client.get("/me/usage", headers=usage.headers)).json()
    assert len(first["items"]) == 30
    assert (first["items"][0]["day"], first["items"][-1]["day"]) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
    )
    await record_usage(db, usage.id, datetime.now(UTC), prompt_tokens=5, completion_tokens=6)
    second = (await client.get("/me/usage", headers=usage.headers)).json()
    assert second["today"]["tokens"] == first["today"]["tokens"] + 11
    assert second["today"]["questions"] == first["today"]["questions"] + 1


async def test_a_user_without_usage_gets_zeros(client, db, settings):
    user = await create_user(db, settings)
    for params in ({}, {"group_by": "model"}):
        body = (
            await client.get(
                "/me/usage", params={"from": "2024-02-27", "to": "2024-03-01", **params}, headers=user.headers
            )
        ).json()
        assert [(item["day"], item["questions"], item["cost"]) for item in body["items"]] == [
            ("2024-02-27", 0, "0"),
            ("2024-02-28", 0, "0"),
            ("2024-02-29", 0, "0"),
            ("2024-03-01", 0, "0"),
        ]
        assert body["today"]["tokens"] == 0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2024-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2024-03-02", "to": "2024-03-01"}, "from"),
        ({"from": "2023-01-01", "to": "2024-01-02"}, "from"),
        ({"group_by": "user"}, "group_by"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
        ({"from": "9999-12-30"}, "from"),
    ],
)
async def test_usage_rejects_bad_ranges_naming_the_field(client, db, settings, params, field):
    user = await create_user(db, settings)
    response = await client.get("/me/usage", params=params, headers=user.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_the_longest_range_is_366_days(client, db, settings):
    user = await create_user(db, settings)
    response = await client.get("/me/usage", params={"from": "2024-01-01", "to": "2024-12-31"}, headers=user.headers)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 366


async def test_monthly_report_is_for_admins_only(client, db, settings):
    user = await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    for someone in (user, moderator):
        response = await client.get("/admin/reports/monthly", params={"month": "2024-01"}, headers=someone.headers)
        assert response.status_code == 403


async def test_monthly_report_sums_each_users_month_and_pages(client, db, settings):
    admin = await create_user(db, settings, role="admin")
    users = sorted([await create_user(db, settings) for _ in range(3)], key=lambda u: u.id)
    jan = datetime(2024, 1, 1, tzinfo=UTC)
    expected: defaultdict[str, list] = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for n, user in enumerate(users):
        for day in (0, 15, 30):
            await record_usage(
                db,
                user.id,
                jan + timedelta(days=day, hours=n),
                prompt_tokens=10 * (n + 1),
                completion_tokens=n,
                cost="0.000100",
            )
            expected[user.id] = [
                a + b for a, b in zip(expected[user.id], (1, 10 * (n + 1), n, Decimal("0.0001")), strict=True)
            ]
        await record_usage(db, user.id, jan + timedelta(days=31))  # February: not in the report
        await record_usage(db, user.id, jan - timedelta(seconds=1))  # December: neither

    seen, cursor = [], None
    while True:
        params = {"month": "2024-01", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/admin/reports/monthly", params=params, headers=admin.headers)).json()
        assert body["month"] == "2024-01"
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert {
        item["user_id"]: [item["questions"], item["prompt_tokens"], item["completion_tokens"], Decimal(item["cost"])]
        for item in seen
    } == dict(expected)
    assert [item["user_id"] for item in seen] == [user.id for user in users]


@pytest.mark.parametrize(
    "params, field", [({}, "month"), ({"month": "2024-13"}, "month"), ({"month": "2024-01", "cursor": "!!"}, "cursor")]
)
async def test_monthly_report_rejects_bad_input(client, db, settings, params, field):
    admin = await create_user(db, settings, role="admin")
    response = await client.get("/admin/reports/monthly", params=params, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
