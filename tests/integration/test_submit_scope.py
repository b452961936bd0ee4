"""The accept path and the worker's start of an attempt scope themselves (mukti_submit_question_v7,
mukti_start_attempt_v1; core/database/scope.py SELF_SCOPED):
each is sent alone, one round trip, and Row-Level Security still applies."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from core.database.queries import QUERIES
from core.database.scope import ScopedConnection, service_scope_sql, user_scope_sql
from tests.factories import create_user
from tests.integration.conversations_support import create_conversation

SUBMIT = QUERIES["conversations_submit_question"].sql


class Recorder:
    """The connection, with the statements sent through it written down."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.sent: list[str] = []

    def is_in_transaction(self) -> bool:
        return self.conn.is_in_transaction()

    async def execute(self, query: str, *args: Any) -> str:
        self.sent.append(query)
        return await self.conn.execute(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        self.sent.append(query)
        return await self.conn.fetchrow(query, *args)


@pytest.fixture
async def app_conn(database_url: str):
    """A connection acting as the app's role, under Row-Level Security."""
    conn = await asyncpg.connect(database_url)
    await conn.execute("SET ROLE mukti_app")
    try:
        yield conn
    finally:
        await conn.close()


def args(user_id: str, conversation_id: str) -> list:
    return QUERIES["conversations_submit_question"].args(
        {
            "user_id": user_id,
            "conversation_id": conversation_id,
            "content": "Why?",
            "burst_limit": 0,
            "burst_window": 0,
            "max_attempts": 3,
            "mode": "ask",
            "seq": None,
        }
    )


async def test_a_user_scoped_submit_is_one_statement_and_passes_the_row_policies(db, settings, app_conn):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    raw = Recorder(app_conn)
    row = await ScopedConnection(raw, user_scope_sql(user.id)).fetchrow(SUBMIT, *args(user.id, conversation_id))
    # Accepted as mukti_app: the message and request rows passed the policies' WITH CHECK,
    # so the function scoped its transaction to the user; nothing else was sent.
    assert row["outcome"] == "accepted"
    assert raw.sent == [SUBMIT]
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE user_id = $1::uuid", user.id) == 1
    # The scope ended with the statement's transaction.
    assert await app_conn.fetchval("SELECT current_setting('mukti.user_id', true)") in (None, "")


async def test_other_statements_and_service_scopes_still_get_their_transaction(db, settings, app_conn):
    user = await create_user(db, settings)
    raw = Recorder(app_conn)
    await ScopedConnection(raw, user_scope_sql(user.id)).fetchrow("SELECT 1")
    assert raw.sent[0].startswith("BEGIN") and raw.sent[-1] == "COMMIT"
    raw.sent.clear()
    conversation_id = await create_conversation(db, user.id)
    await ScopedConnection(raw, service_scope_sql("test")).fetchrow(SUBMIT, *args(user.id, conversation_id))
    assert raw.sent[0].startswith("BEGIN") and raw.sent[-1] == "COMMIT"


async def test_a_transaction_scoped_to_another_user_is_refused(db, settings, app_conn):
    user, other = await create_user(db, settings), await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    scoped = ScopedConnection(app_conn, user_scope_sql(other.id))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="scoped to another user"):
        async with scoped.transaction():
            await scoped.fetchrow(SUBMIT, *args(user.id, conversation_id))
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE user_id = $1::uuid", user.id) == 0


START = QUERIES["answering_start_attempt"].sql


async def test_the_worker_takes_a_request_in_one_statement_and_only_as_its_owner(db, settings, app_conn):
    user, other = await create_user(db, settings), await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = (await app_conn.fetchrow(SUBMIT, *args(user.id, conversation_id)))["request_id"]
    # Named as another user's, the request stays hidden by Row-Level Security: untouched.
    named_wrongly = QUERIES["answering_start_attempt"].args({"request_id": request_id, "user_id": other.id})
    assert await ScopedConnection(app_conn, user_scope_sql(other.id)).fetchrow(START, *named_wrongly) is None
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", request_id) == "pending"
    # As its owner: one statement sent, the request taken, its context loaded.
    raw = Recorder(app_conn)
    owned = QUERIES["answering_start_attempt"].args({"request_id": request_id, "user_id": user.id})
    row = await ScopedConnection(raw, user_scope_sql(user.id)).fetchrow(START, *owned)
    assert raw.sent == [START]
    assert (row["attempts"], row["user_id"]) == (1, user.id)
    assert [m["content"] for m in json.loads(row["messages"])] == ["Why?"]
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", request_id) == "processing"
