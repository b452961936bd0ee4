"""Partitioned tables: strays go to the default partition; the partition-ahead
function is idempotent and moves strays into the partition it creates."""

import uuid
from datetime import UTC, datetime

import asyncpg

ENSURE = "SELECT mukti_ensure_partitions_v1($1::regclass, $2, $3, $4)"


async def _user_conversation(db: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    user_id = await db.fetchval("INSERT INTO users (email) VALUES ($1) RETURNING id", f"{uuid.uuid4()}@example.org")
    conversation_id = await db.fetchval("INSERT INTO conversations (user_id) VALUES ($1) RETURNING id", user_id)
    return user_id, conversation_id


async def _partition_of(db, table: str, where: str, *args) -> str:
    return await db.fetchval(f"SELECT tableoid::regclass::text FROM {table} WHERE {where}", *args)


async def test_rows_without_a_partition_go_to_the_default(db: asyncpg.Connection):
    user_id, conversation_id = await _user_conversation(db)
    old = datetime(2001, 5, 17, 12, tzinfo=UTC)
    await db.execute(
        "INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at)"
        " VALUES ($1, 1, $2, 'user', 'what is virtue?', $3)",
        conversation_id,
        user_id,
        old,
    )
    await db.execute("INSERT INTO usage_events (user_id, occurred_at) VALUES ($1, $2)", user_id, old)
    assert await _partition_of(db, "archived_messages", "seq = 1") == "archived_messages_default"
    assert await _partition_of(db, "usage_events", "user_id = $1", user_id) == "usage_events_default"


async def test_rows_for_now_go_to_a_real_partition(db: asyncpg.Connection):
    user_id, conversation_id = await _user_conversation(db)
    await db.execute(
        "INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at)"
        " VALUES ($1, 1, $2, 'user', 'what is justice?', now())",
        conversation_id,
        user_id,
    )
    expected = "archived_messages_p" + datetime.now(UTC).strftime("%Y%m")
    assert await _partition_of(db, "archived_messages", "seq = 1") == expected


async def test_ensure_partitions_is_idempotent_and_adopts_strays(db: asyncpg.Connection):
    user_id, conversation_id = await _user_conversation(db)
    may_2001 = datetime(2001, 5, 17, 12, tzinfo=UTC)
    await db.execute(
        "INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at)"
        " VALUES ($1, 1, $2, 'user', 'knowledge is recollection', $3)",
        conversation_id,
        user_id,
        may_2001,
    )

    assert await db.fetchval(ENSURE, "archived_messages", "month", may_2001, 2) == 2
    assert await db.fetchval(ENSURE, "archived_messages", "month", may_2001, 2) == 0

    assert await _partition_of(db, "archived_messages", "seq = 1") == "archived_messages_p200105"
    assert await db.fetchval("SELECT count(*) FROM archived_messages_default") == 0
    # The moved row is whole, generated search vector included.
    row = await db.fetchrow("SELECT content, search::text FROM archived_messages WHERE seq = 1")
    assert row["content"] == "knowledge is recollection"
    assert "'recollect'" in row["search"]
    bounds = await db.fetchval(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'archived_messages_p200106'"
    )
    assert bounds == "FOR VALUES FROM ('2001-06-01 00:00:00+00') TO ('2001-07-01 00:00:00+00')"


async def test_daily_partitions_keep_identity_values_of_strays(db: asyncpg.Connection):
    user_id, _ = await _user_conversation(db)
    day = datetime(2001, 5, 17, 23, 59, tzinfo=UTC)
    event_id = await db.fetchval(
        "INSERT INTO usage_events (user_id, occurred_at, prompt_tokens) VALUES ($1, $2, 7) RETURNING id", user_id, day
    )
    assert await db.fetchval(ENSURE, "usage_events", "day", day, 1) == 1
    row = await db.fetchrow("SELECT id, prompt_tokens, tableoid::regclass::text AS part FROM usage_events")
    assert (row["id"], row["prompt_tokens"], row["part"]) == (event_id, 7, "usage_events_p20010517")


async def test_ensure_partitions_rejects_bad_arguments(db: asyncpg.Connection):
    for args in (("archived_messages", "week", datetime.now(UTC), 1), ("users", "month", datetime.now(UTC), 1)):
        try:
            await db.fetchval(ENSURE, *args)
        except asyncpg.InvalidParameterValueError:
            continue
        raise AssertionError(f"accepted {args}")
