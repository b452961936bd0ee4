"""Archiving never lands in the default partition: the archive partition of a message's
month exists from the moment the message does (behind as well as ahead), and the
maintenance job moves rows that are in a default partition into partitions it makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.database.gateway import Db
from jobs import maintenance
from tests.factories import create_user
from tests.integration.answering_helpers import complete_sql
from tests.integration.usage_support import as_role, open_connector


async def test_messages_back_dated_150_days_are_archived_into_their_own_month(db, settings):
    user = await create_user(db, settings, plan="paid")
    conversation = await db.fetchval(
        "INSERT INTO conversations (user_id) VALUES ($1::uuid) RETURNING id::text", user.id
    )
    old = datetime.now(UTC) - timedelta(days=150)
    # A conversation resumed after five months: 50 messages from then (an import, or a
    # clock-set-back restore), made by UPDATE for half of them to cover both paths.
    await db.execute(
        """
        INSERT INTO recent_messages (conversation_id, seq, user_id, role, content, created_at)
        SELECT $1::uuid, s, $2::uuid, CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END, 'message ' || s,
               CASE WHEN s <= 25 THEN $3::timestamptz + make_interval(mins => s) ELSE now() END
          FROM generate_series(1, 50) AS s""",
        conversation,
        user.id,
        old,
    )
    await db.execute(
        "UPDATE recent_messages SET created_at = $2::timestamptz + make_interval(mins => seq) "
        "WHERE conversation_id = $1::uuid AND seq > 25",
        conversation,
        old - timedelta(days=31),
    )
    await db.execute("UPDATE conversations SET message_count = 50 WHERE id = $1::uuid", conversation)

    for _ in range(15):  # each answered question archives the two oldest messages
        request = await db.fetchval(
            "SELECT request_id FROM mukti_submit_question_v2($1::uuid, $2::uuid, 'And now?', 0, 0)",
            user.id,
            conversation,
        )
        await Db.on(db).fetchrow("answering_start_attempt", request_id=str(request), user_id=user.id)
        done = await complete_sql(db, str(request), "Why so?", 10, 5, 100)
        assert done["outcome"] == "completed"

    placed = await db.fetch(
        "SELECT tableoid::regclass::text AS part, count(*) AS n FROM archived_messages "
        "WHERE conversation_id = $1::uuid GROUP BY 1 ORDER BY 1",
        conversation,
    )
    assert sum(r["n"] for r in placed) == 30
    # Messages 1-25 from 150 days ago, 26-30 from a month before that: two back months.
    assert [r["part"] for r in placed] == sorted(
        {
            "archived_messages_p" + (old - timedelta(days=31) + timedelta(minutes=26)).strftime("%Y%m"),
            "archived_messages_p" + old.strftime("%Y%m"),
        }
    )
    assert await db.fetchval("SELECT count(*) FROM archived_messages_default") == 0


async def test_the_maintenance_job_moves_rows_out_of_the_default_partitions(db, settings, database_url):
    user = await create_user(db, settings)
    conversation = await db.fetchval(
        "INSERT INTO conversations (user_id) VALUES ($1::uuid) RETURNING id::text", user.id
    )
    long_ago = datetime(2003, 3, 9, 12, tzinfo=UTC)
    await db.execute(
        "INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at) "
        "VALUES ($1::uuid, 1, $2::uuid, 'user', 'stray', $3)",
        conversation,
        user.id,
        long_ago,
    )
    await db.execute("INSERT INTO usage_events (user_id, occurred_at) VALUES ($1::uuid, $2)", user.id, long_ago)
    assert await db.fetchval("SELECT count(*) FROM archived_messages_default") == 1

    async with open_connector(as_role(database_url, "mukti_app")) as connector:
        await maintenance.create_partitions(connector)

    assert await db.fetchval("SELECT count(*) FROM archived_messages_default") == 0
    assert await db.fetchval("SELECT count(*) FROM usage_events_default") == 0
    assert (
        await db.fetchval("SELECT tableoid::regclass::text FROM archived_messages WHERE content = 'stray'")
        == "archived_messages_p200303"
    )
    assert (
        await db.fetchval("SELECT tableoid::regclass::text FROM usage_events WHERE occurred_at = $1", long_ago)
        == "usage_events_p20030309"
    )
