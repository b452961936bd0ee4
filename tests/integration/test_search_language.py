"""The user's language stems their messages as it stems their searches: one SQL function,
mukti_text_search_config_v1, chooses the configuration for both the writers (questions,
replies, and the archive that copies them) and GET /search."""

from __future__ import annotations

import json

import pytest

from tests.factories import create_user
from tests.integration.conversations_support import create_conversation


@pytest.mark.parametrize(
    "preferences, expected",
    [
        ({}, "english"),
        ({"language": None}, "english"),
        ({"language": ""}, "english"),
        ({"language": "  "}, "english"),
        ({"language": 42}, "english"),
        ({"language": "en"}, "english"),
        ({"language": "fr"}, "french"),
        ({"language": "pt-BR"}, "portuguese"),
        ({"language": "de_AT"}, "german"),
        ({"language": "nb"}, "norwegian"),
        ({"language": " French "}, "french"),
        ({"language": "russian"}, "russian"),
        ({"language": "klingon"}, "english"),
        ({"language": "pg_catalog.french"}, "english"),
        (None, "english"),
    ],
)
async def test_the_language_preference_maps_to_a_builtin_configuration(db, preferences, expected):
    as_json = None if preferences is None else json.dumps(preferences)
    assert await db.fetchval("SELECT mukti_text_search_config_v1($1::jsonb)::text", as_json) == expected


async def _ask(client, user, conversation_id: str, content: str) -> str:
    response = await client.post(
        f"/conversations/{conversation_id}/messages", json={"content": content}, headers=user.headers
    )
    assert response.status_code == 202, response.text
    return response.json()["request_id"]


async def _reply(db, request_id: str, content: str) -> int:
    outcome, seq = await db.fetchrow(
        "SELECT outcome, reply_seq FROM mukti_complete_request_v2($1::uuid, $2, 10, 5, 1)", request_id, content
    )
    assert outcome == "completed"
    return seq


async def _ts_configs(db, conversation_id: str) -> dict[int, str]:
    rows = await db.fetch(
        """SELECT seq, ts_config::text AS cfg FROM recent_messages WHERE conversation_id = $1::uuid
                             UNION ALL
                             SELECT seq, ts_config::text FROM archived_messages WHERE conversation_id = $1::uuid""",
        conversation_id,
    )
    return {r["seq"]: r["cfg"] for r in rows}


async def _found(client, user, q: str) -> set[int]:
    response = await client.get("/search", params={"q": q}, headers=user.headers)
    assert response.status_code == 200, response.text
    return {item["seq"] for item in response.json()["items"]}


async def test_a_french_users_messages_are_stored_and_found_in_french(client, db, settings):
    user = await create_user(db, settings, preferences={"language": "fr"})
    conversation_id = await create_conversation(db, user.id)

    request_id = await _ask(client, user, conversation_id, "les questions importantes parlaient de la vérité")
    assert await _reply(db, request_id, "Les réponses étaient nombreuses") == 2
    assert await _ts_configs(db, conversation_id) == {1: "french", 2: "french"}

    assert await _found(client, user, "question") == {1}
    # Found through French stems only: English stores 'parlaient', 'vérité' and 'nombreus'.
    assert await _found(client, user, "parler vérités") == {1}
    assert await _found(client, user, "nombreux") == {2}

    # Past 50 messages the oldest move to the archive with their configuration, and stay findable.
    await db.execute(
        """INSERT INTO recent_messages (conversation_id, seq, user_id, role, content)
                        SELECT $1::uuid, s, $2::uuid, 'system', 'earlier ' || s FROM generate_series(3, 51) AS s""",
        conversation_id,
        user.id,
    )
    await db.execute("UPDATE conversations SET message_count = 51 WHERE id = $1::uuid", conversation_id)
    await _ask(client, user, conversation_id, "encore une question")
    assert await db.fetchval(
        "SELECT array_agg(seq ORDER BY seq) FROM archived_messages WHERE conversation_id = $1::uuid", conversation_id
    ) == [1, 2]
    configs = await _ts_configs(db, conversation_id)
    assert (configs[1], configs[2], configs[52]) == ("french", "french", "french")
    assert await _found(client, user, "parler vérités") == {1}
    assert await _found(client, user, "question") == {1, 52}


async def test_an_english_users_messages_stay_english(client, db, settings):
    user = await create_user(db, settings, preferences={"language": "en-GB"})
    conversation_id = await create_conversation(db, user.id)

    request_id = await _ask(client, user, conversation_id, "Which questions did the philosophers ask?")
    await _reply(db, request_id, "They were asking about justice")
    assert await _ts_configs(db, conversation_id) == {1: "english", 2: "english"}
    assert await _found(client, user, "question philosopher") == {1}
    assert await _found(client, user, "asked") == {1, 2}
