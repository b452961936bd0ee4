"""The shared steps of the question lifecycle (db/sql/functions, migration 0010)."""

from __future__ import annotations

import asyncpg
import pytest

from api.limits import MAX_QUESTION_CHARS
from tests.factories import create_user
from tests.integration.conversations_support import create_conversation


async def test_the_question_length_limit_is_the_same_in_python_and_sql(db):
    assert await db.fetchval("SELECT mukti_question_max_chars_v1()") == MAX_QUESTION_CHARS


async def test_the_database_refuses_a_question_one_character_too_long(db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    submit = "SELECT outcome FROM mukti_submit_question_v2($1::uuid, $2::uuid, $3, 0, 0)"
    assert await db.fetchval(submit, user.id, conversation_id, "x" * MAX_QUESTION_CHARS) == "accepted"
    with pytest.raises(asyncpg.CheckViolationError, match=f"1 to {MAX_QUESTION_CHARS} characters") as refused:
        await db.fetchval(submit, user.id, conversation_id, "x" * (MAX_QUESTION_CHARS + 1))
    assert refused.value.constraint_name == "question_content_length"
