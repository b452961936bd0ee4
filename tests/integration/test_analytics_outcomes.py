"""Every outcome of a question is a usage event, and every analytics view agrees with a
direct count over the base tables: after questions that are answered (after failed
attempts), fail for good, are cancelled and reach a limit; and the daily matview after
the raw events expired. The questions go through the lifecycle functions the worker
calls (submit, start attempt, complete or fail), without the LLM in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from core.database.gateway import Db
from tests.factories import create_user
from tests.integration.answering_helpers import complete_sql, submit_sql

TIMEOUT = "the language model did not answer in time"
HTTP_503 = "the language model answered with an error (HTTP 503)"


async def _conversation(db: asyncpg.Connection, user_id: str, technique_id: str | None) -> str:
    return await db.fetchval(
        "INSERT INTO conversations (user_id, technique_id) VALUES ($1::uuid, $2::uuid) RETURNING id::text",
        user_id,
        technique_id,
    )


async def _attempt(
    db: asyncpg.Connection,
    request_id: str,
    *,
    error: str | None = None,
    prompt_tokens: int = 90,
    completion_tokens: int = 7,
    latency_ms: int = 300,
) -> str:
    """One attempt as jobs/answering.py makes it: take the request, then complete or fail it."""
    owner = await db.fetchval("SELECT user_id::text FROM request_queue WHERE id = $1::uuid", request_id)
    assert await Db.on(db).fetchrow("answering_start_attempt", request_id=request_id, user_id=owner) is not None
    if error is None:
        row = await complete_sql(db, request_id, "What do you think?", prompt_tokens, completion_tokens, latency_ms)
    else:
        row = await Db.on(db).fetchrow("answering_fail_attempt", request_id=request_id, error=error, retry_in_seconds=0)
    return row["outcome"]


async def _refresh(db: asyncpg.Connection) -> None:
    await db.execute("SELECT mukti_rollup_usage_v1()")
    await db.execute("SELECT mukti_close_usage_days_v1(1000)")
    await db.execute("SELECT mukti_refresh_matviews_v2()")


async def _exact_cost(db: asyncpg.Connection, where: str, *args) -> Decimal:
    """Cost of the answered requests matching `where`, computed here from tokens and prices."""
    rows = await db.fetch(
        f"""
        SELECT q.prompt_tokens, q.completion_tokens, p.prompt_per_1k, p.completion_per_1k
          FROM request_queue q JOIN model_prices p ON p.model = q.model
         WHERE q.status = 'completed' AND {where}""",
        *args,
    )
    return sum(
        (
            Decimal(r["prompt_tokens"]) * r["prompt_per_1k"] / 1000
            + Decimal(r["completion_tokens"]) * r["completion_per_1k"] / 1000
            for r in rows
        ),
        Decimal(0),
    )


async def test_every_outcome_is_an_event_and_every_view_agrees_with_the_base_tables(db, settings):
    technique = await db.fetchval("SELECT id::text FROM techniques WHERE is_builtin ORDER BY slug LIMIT 1")
    free = await create_user(db, settings, plan="free")  # 10 an hour: reaches the limit
    paid = await create_user(db, settings, plan="paid")
    free_conv = await _conversation(db, free.id, technique)
    paid_conv = await _conversation(db, paid.id, None)
    doomed_conv = await _conversation(db, paid.id, technique)

    for _ in range(10):  # the 10th answer uses up the free plan's hour
        request = await submit_sql(db, free.id, free_conv, "Why?")
        assert await _attempt(db, request) == "completed"
    answered_late = await submit_sql(db, paid.id, paid_conv, "Why?")
    assert await _attempt(db, answered_late, error=TIMEOUT) == "retry"
    assert await _attempt(db, answered_late, error=HTTP_503) == "retry"
    assert await _attempt(db, answered_late, prompt_tokens=1234, latency_ms=900) == "completed"
    failing = await submit_sql(db, paid.id, paid_conv, "Why?", max_attempts=2)
    assert await _attempt(db, failing, error=TIMEOUT) == "retry"
    assert await _attempt(db, failing, error=TIMEOUT) == "failed"
    for _ in range(2):
        await submit_sql(db, paid.id, doomed_conv, "Why?")
    cancelled_expected = await db.fetchval(
        "SELECT count(*) FROM request_queue WHERE conversation_id = $1::uuid AND status = 'pending'", doomed_conv
    )
    assert await db.fetchval("SELECT mukti_delete_conversation_v1($1::uuid, $2::uuid)", doomed_conv, paid.id)

    # The events, one per outcome, with model, plan, technique and error class.
    events = await db.fetch(
        "SELECT event_type, plan_id, model, technique_id::text, error_class, cost FROM usage_events ORDER BY id"
    )
    by_type: dict[str, list[asyncpg.Record]] = {}
    for e in events:
        by_type.setdefault(e["event_type"], []).append(e)
    assert {k: len(v) for k, v in by_type.items()} == {
        "question": 11,
        "limit_reached": 1,
        "attempt_failed": 3,
        "failure": 1,
        "cancelled": cancelled_expected,
    }
    assert cancelled_expected == 2
    assert [(e["plan_id"], e["model"], e["technique_id"]) for e in by_type["limit_reached"]] == [
        ("free", "gpt-4o-mini", technique)
    ]
    assert sorted(e["error_class"] for e in by_type["attempt_failed"] + by_type["failure"]) == [
        "llm_server_error",
        "llm_timeout",
        "llm_timeout",
        "llm_timeout",
    ]
    assert {(e["plan_id"], e["technique_id"]) for e in by_type["cancelled"]} == {("paid", technique)}
    # Exact cost: 90 prompt tokens of gpt-4o-mini at 0.00015/1k and 7 at 0.0006/1k.
    assert by_type["question"][0]["cost"] == Decimal("0.0000177")

    await _refresh(db)
    today = await db.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")

    # analytics.daily_usage_v2 against request_queue, notifications and model_prices.
    rows = {
        (r["plan_id"], r["technique_id"]): r
        for r in await db.fetch(
            "SELECT plan_id, technique_id::text, questions, answered, failed_attempts, failed, cancelled, "
            "limits_reached, users, prompt_tokens, completion_tokens, cost, latency_p50_ms "
            "FROM analytics.daily_usage_v2 WHERE day = $1",
            today,
        )
    }
    for plan, technique_id in rows:
        where = (
            "q.plan_id = $1 AND (SELECT c.technique_id FROM conversations c WHERE c.id = q.conversation_id) "
            "IS NOT DISTINCT FROM $2::uuid"
        )
        direct = await db.fetchrow(
            f"""
            SELECT count(*) FILTER (WHERE q.status = 'completed') AS answered,
                   coalesce(sum(q.attempts - (q.status = 'completed')::int), 0) AS failed_attempts,
                   count(*) FILTER (WHERE q.status = 'failed') AS failed,
                   count(DISTINCT q.user_id) AS users,
                   coalesce(sum(q.prompt_tokens), 0) AS prompt_tokens,
                   coalesce(sum(q.completion_tokens), 0) AS completion_tokens
              FROM request_queue q WHERE {where}""",
            plan,
            technique_id,
        )
        limits = await db.fetchval(
            "SELECT count(*) FROM notifications n JOIN subscriptions s ON s.user_id = n.user_id "
            "WHERE n.kind LIKE '%limit_reached' AND s.plan_id = $1 AND $2::uuid IS NOT NULL",
            plan,
            technique_id,
        )
        row = rows[(plan, technique_id)]
        cancelled = cancelled_expected if (plan, technique_id) == ("paid", technique) else 0
        assert row["answered"] == direct["answered"]
        assert row["failed_attempts"] == direct["failed_attempts"]
        assert row["failed"] == direct["failed"]
        assert row["cancelled"] == cancelled
        assert row["questions"] == direct["answered"] + direct["failed"] + cancelled
        assert row["limits_reached"] == limits
        assert row["users"] == max(direct["users"], 1 if cancelled else 0)
        assert row["prompt_tokens"] == direct["prompt_tokens"]
        assert row["completion_tokens"] == direct["completion_tokens"]
        assert row["cost"] == await _exact_cost(db, where, plan, technique_id)
    assert set(rows) == {("free", technique), ("paid", None), ("paid", technique)}
    latencies = await db.fetchval(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FROM usage_events "
        "WHERE event_type = 'question' AND plan_id = 'paid'"
    )
    assert rows[("paid", None)]["latency_p50_ms"] == latencies == 900

    # The hourly rollup and the per-model view count the same outcomes.
    per_model = {
        r["model"]: r
        for r in await db.fetch(
            "SELECT model, questions, failures, limits_reached, cost FROM analytics.model_costs_v1 WHERE day = $1",
            today,
        )
    }
    for model in ("gpt-4o-mini", "gpt-4o"):
        direct = await db.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'completed') AS questions, "
            "count(*) FILTER (WHERE status = 'failed') AS failures FROM request_queue WHERE model = $1",
            model,
        )
        assert per_model[model]["questions"] == direct["questions"]
        assert per_model[model]["failures"] == direct["failures"]
        assert per_model[model]["cost"] == await _exact_cost(db, "q.model = $1", model)
    assert per_model["gpt-4o-mini"]["limits_reached"] == 1
    hourly = await db.fetchval("SELECT sum(events) FROM analytics.usage_hourly_v1 WHERE event_type = 'attempt_failed'")
    assert hourly == 3

    # The per-user views over the durable aggregate.
    for user in (free, paid):
        daily = await db.fetchrow(
            "SELECT sum(questions) AS questions, sum(cost) AS cost "
            "FROM analytics.daily_usage_v1 WHERE user_id = $1::uuid",
            user.id,
        )
        monthly = await db.fetchrow(
            "SELECT questions, cost FROM analytics.monthly_billing_v1 WHERE user_id = $1::uuid", user.id
        )
        answered = await db.fetchval(
            "SELECT count(*) FROM request_queue WHERE user_id = $1::uuid AND status = 'completed'", user.id
        )
        exact = await _exact_cost(db, "q.user_id = $1::uuid", user.id)
        assert daily["questions"] == monthly["questions"] == answered
        assert daily["cost"] == monthly["cost"] == exact

    # Queue health, active users, technique engagement.
    health = await db.fetchrow(
        "SELECT sum(requests) AS requests, sum(completed) AS completed, "
        "sum(failed) AS failed FROM analytics.queue_health_v1"
    )
    direct = await db.fetchrow(
        "SELECT count(*) AS requests, count(*) FILTER (WHERE status = 'completed') "
        "AS completed, count(*) FILTER (WHERE status = 'failed') AS failed FROM request_queue"
    )
    assert dict(health) == dict(direct)
    assert await db.fetchval("SELECT dau FROM analytics.active_users_v1 WHERE day = $1", today) == await db.fetchval(
        "SELECT count(DISTINCT user_id) FROM request_queue WHERE status = 'completed'"
    )
    assert await db.fetchval(
        "SELECT conversations FROM analytics.technique_engagement_v1 WHERE technique_id = $1::uuid", technique
    ) == await db.fetchval("SELECT count(*) FROM conversations WHERE technique_id = $1::uuid", technique)
    assert await db.fetchval("SELECT count(*) FROM analytics.popular_resources_v1") == await db.fetchval(
        "SELECT count(*) FROM resources WHERE status = 'approved' AND deleted_at IS NULL"
    )

    # Every materialized view says when it was refreshed.
    refreshed = await db.fetch("SELECT matview, refreshed_at FROM analytics.matview_refreshes")
    matviews = await db.fetch("SELECT matviewname FROM pg_matviews WHERE schemaname = 'analytics'")
    assert {r["matview"] for r in refreshed} == {m["matviewname"] for m in matviews}
    assert all(r["refreshed_at"] > datetime.now(UTC) - timedelta(minutes=1) for r in refreshed)


async def test_the_daily_matview_agrees_after_the_raw_events_expired(db, settings):
    user = await create_user(db, settings, plan="paid")
    other = await create_user(db, settings, plan="free")
    days_ago = (100, 95, 3)
    now = datetime.now(UTC)
    for n in days_ago:
        await db.execute("SELECT mukti_ensure_partitions_v1('usage_events', 'day', $1, 1)", now - timedelta(days=n))
    # Events as the lifecycle writes them, back-dated: answers (cost exact), failures, a limit.
    await db.execute(
        """
        INSERT INTO usage_events (user_id, occurred_at, event_type, model, plan_id, prompt_tokens,
                                  completion_tokens, cost, latency_ms, error_class)
        SELECT CASE WHEN i % 3 = 0 THEN $2::uuid ELSE $1::uuid END,
               $3::timestamptz - make_interval(days => d) + make_interval(secs => i),
               (ARRAY['question', 'question', 'question', 'attempt_failed', 'failure', 'limit_reached'])[1 + i % 6],
               'gpt-4o', 'paid', CASE WHEN i % 6 < 3 THEN 90 + i ELSE 0 END, CASE WHEN i % 6 < 3 THEN 7 ELSE 0 END,
               CASE WHEN i % 6 < 3 THEN round(((90 + i) * 0.0025 + 7 * 0.01) / 1000, 6) ELSE 0 END,
               CASE WHEN i % 6 < 3 THEN 100 + 10 * i END,
               CASE WHEN i % 6 IN (3, 4) THEN 'llm_timeout' END
          FROM unnest($4::int[]) AS d, generate_series(1, 60) AS i""",
        user.id,
        other.id,
        now.replace(hour=1, minute=0, second=0, microsecond=0),
        list(days_ago),
    )
    direct_sql = """
        SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day,
               count(*) FILTER (WHERE event_type = 'question') AS answered,
               count(*) FILTER (WHERE event_type IN ('attempt_failed', 'failure')) AS failed_attempts,
               count(*) FILTER (WHERE event_type = 'failure') AS failed,
               count(*) FILTER (WHERE event_type = 'limit_reached') AS limits_reached,
               count(DISTINCT user_id) AS users, sum(prompt_tokens) AS prompt_tokens, sum(cost) AS cost,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY latency_ms) AS latency_p90_ms
          FROM usage_events GROUP BY 1 ORDER BY 1"""
    direct = [dict(r) for r in await db.fetch(direct_sql)]
    assert len(direct) == 3
    # The cost is exact, not the 6-decimal rounding the rows were written with.
    assert direct[0]["cost"] == sum(Decimal((90 + i) * 25 + 700) / 10_000_000 for i in range(1, 61) if i % 6 < 3)

    await _refresh(db)
    matview_sql = """
        SELECT day, answered, failed_attempts, failed, limits_reached, users, prompt_tokens, cost, latency_p90_ms
          FROM analytics.daily_usage_v2 ORDER BY day"""
    assert [dict(r) for r in await db.fetch(matview_sql)] == direct

    dropped = await db.fetch("SELECT * FROM mukti_drop_expired_partitions_v1('usage_events', '90 days')")
    assert len(dropped) >= 2
    assert [dict(r) for r in await db.fetch(direct_sql)] == direct[2:]  # the raw events are gone
    await db.execute("SELECT mukti_refresh_matviews_v2()")
    assert [dict(r) for r in await db.fetch(matview_sql)] == direct
