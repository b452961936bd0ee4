"""GET /techniques/{id}/stats: use and rating of approved and built-in techniques,
checked against direct counts; anything else is 404."""

from __future__ import annotations

from tests.integration.library_support import submit_technique, users


async def test_stats_of_a_builtin_technique_agree_with_its_conversations_and_votes(client, db, settings):
    technique = await db.fetchval("SELECT id::text FROM techniques WHERE is_builtin ORDER BY slug LIMIT 1")
    alice, bob, carol = await users(db, settings, 3)
    empty = await client.get(f"/techniques/{technique}/stats", headers=alice.headers)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "conversations": 0,
        "median_messages": None,
        "return_rate": None,
        "upvotes": 0,
        "downvotes": 0,
        "helpful_rate": None,
    }

    # Alice came back three days later; Bob's two conversations were the same day.
    await db.execute(
        """
        INSERT INTO conversations (user_id, technique_id, message_count, archived_count, created_at, last_activity_at)
        VALUES ($1::uuid, $3::uuid, 10, 0, now() - interval '3 days', now()),
               ($2::uuid, $3::uuid, 2, 0, now(), now()),
               ($2::uuid, $3::uuid, 4, 0, now(), now())""",
        alice.id,
        bob.id,
        technique,
    )
    for user, value in ((alice, 1), (bob, 1), (carol, -1)):
        voted = await client.put(f"/techniques/{technique}/vote", json={"value": value}, headers=user.headers)
        assert voted.status_code == 200, voted.text

    # Feedback on replies made under the technique: two helpful, one not.
    conversation = await db.fetchval(
        "SELECT id::text FROM conversations WHERE user_id = $1::uuid AND technique_id = $2::uuid", alice.id, technique
    )
    await db.executemany(
        """INSERT INTO message_feedback (conversation_id, seq, version, user_id, value, technique_id)
           VALUES ($1::uuid, $2, 1, $3::uuid, $4, $5::uuid)""",
        [(conversation, seq, alice.id, value, technique) for seq, value in ((2, 1), (4, 1), (6, -1))],
    )
    stats = (await client.get(f"/techniques/{technique}/stats", headers=carol.headers)).json()
    direct = await db.fetchrow(
        """
        SELECT count(*) AS conversations,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY message_count) AS median_messages
          FROM conversations WHERE technique_id = $1::uuid""",
        technique,
    )
    votes = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE value = 1) AS up, count(*) FILTER (WHERE value = -1) "
        "AS down FROM votes WHERE technique_id = $1::uuid",
        technique,
    )
    assert stats == {
        "conversations": direct["conversations"],
        "median_messages": direct["median_messages"],
        "return_rate": 0.5,
        "upvotes": votes["up"],
        "downvotes": votes["down"],
        "helpful_rate": await db.fetchval(
            "SELECT avg((value = 1)::int)::float8 FROM message_feedback WHERE technique_id = $1::uuid", technique
        ),
    }
    assert stats["conversations"] == 3 and stats["median_messages"] == 4


async def test_stats_of_a_pending_or_unknown_technique_are_404_even_for_its_author(client, db, settings):
    (author,) = await users(db, settings, 1)
    pending = await submit_technique(client, author)
    for technique_id in (pending["id"], "00000000-0000-4000-8000-000000000000"):
        response = await client.get(f"/techniques/{technique_id}/stats", headers=author.headers)
        assert response.status_code == 404, response.text
    response = await client.get("/techniques/not-a-uuid/stats", headers=author.headers)
    assert response.status_code in (400, 404)
