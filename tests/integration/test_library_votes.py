"""Votes: one per user per target, counts equal to the votes table under real concurrency."""

from __future__ import annotations

import asyncio
import math
import random

import asyncpg
import pytest

from tests.factories import create_user
from tests.integration.library_support import (
    approve,
    submit_resource,
    submit_technique,
    tallies_match_votes,
    users,
)


@pytest.fixture
async def technique(client, db, settings) -> dict:
    author = await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    item = await submit_technique(client, author)
    await approve(client, moderator, "techniques", item["id"])
    return {**item, "author": author}


async def test_hundred_users_voting_concurrently_count_exactly(client, db, settings, technique):
    voters = await users(db, settings, 100)
    values = [1] * 70 + [-1] * 30
    responses = await asyncio.gather(
        *(
            client.put(f"/techniques/{technique['id']}/vote", json={"value": v}, headers=u.headers)
            for u, v in zip(voters, values, strict=True)
        )
    )
    assert [r.status_code for r in responses] == [200] * 100
    assert await tallies_match_votes(db, "techniques", "technique_id", technique["id"]) == (70, 30)
    # Whoever committed last saw the final tally.
    assert max(r.json()["upvotes"] + r.json()["downvotes"] for r in responses) == 100

    # Now all of them change or withdraw at once: 30 flips to +1, 20 withdrawals of +1.
    flips = [
        client.put(f"/techniques/{technique['id']}/vote", json={"value": 1}, headers=u.headers) for u in voters[70:]
    ]
    withdrawals = [client.delete(f"/techniques/{technique['id']}/vote", headers=u.headers) for u in voters[:20]]
    responses = await asyncio.gather(*flips, *withdrawals)
    assert {r.status_code for r in responses} == {200}
    assert await tallies_match_votes(db, "techniques", "technique_id", technique["id"]) == (80, 0)


async def test_random_votes_over_many_connections_keep_counts_exact(client, db, settings, database_url):
    """25 connections call the SQL function at once, each for its own users, with random
    sets, flips and removals on a technique and a resource."""
    author = await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    technique = await submit_technique(client, author)
    await approve(client, moderator, "techniques", technique["id"])
    resource = await submit_resource(client, author)
    await approve(client, moderator, "resources", resource["id"])
    voters = await users(db, settings, 100)
    targets = [("technique", technique["id"]), ("resource", resource["id"])]

    async def worker(batch, seed):
        rng = random.Random(seed)
        conn = await asyncpg.connect(database_url)
        try:
            for _ in range(12):
                user = rng.choice(batch)
                kind, item_id = rng.choice(targets)
                await conn.fetchrow(
                    "SELECT * FROM mukti_cast_vote_v1($1::uuid, $2, $3::uuid, $4)",
                    user.id,
                    kind,
                    item_id,
                    rng.choice([1, -1, None]),
                )
        finally:
            await conn.close()

    await asyncio.gather(*(worker(voters[i::25], i) for i in range(25)))
    up, down = await tallies_match_votes(db, "techniques", "technique_id", technique["id"])
    r_up, r_down = await tallies_match_votes(db, "resources", "resource_id", resource["id"])
    assert up + down + r_up + r_down > 0


async def test_one_user_voting_50_times_concurrently_leaves_one_vote(client, db, settings, technique):
    voter = await create_user(db, settings)
    url = f"/techniques/{technique['id']}/vote"
    responses = await asyncio.gather(*(client.put(url, json={"value": 1}, headers=voter.headers) for _ in range(50)))
    assert {r.status_code for r in responses} == {200}
    assert await db.fetchval("SELECT count(*) FROM votes WHERE user_id = $1::uuid", voter.id) == 1
    assert await tallies_match_votes(db, "techniques", "technique_id", technique["id"]) == (1, 0)

    # Mixed changes and removals from the same user at once: whatever wins, one vote at most.
    calls = [client.put(url, json={"value": v}, headers=voter.headers) for v in (1, -1) * 20]
    calls += [client.delete(url, headers=voter.headers) for _ in range(10)]
    random.Random(7).shuffle(calls)
    responses = await asyncio.gather(*calls)
    assert {r.status_code for r in responses} == {200}
    assert await db.fetchval("SELECT count(*) FROM votes WHERE user_id = $1::uuid", voter.id) <= 1
    up, down = await tallies_match_votes(db, "techniques", "technique_id", technique["id"])
    assert up + down <= 1


async def test_vote_is_set_changed_and_removed(client, db, settings, technique):
    voter = await create_user(db, settings)
    url = f"/techniques/{technique['id']}/vote"
    first = await client.put(url, json={"value": 1}, headers=voter.headers)
    assert first.json()["upvotes"] == 1 and first.json()["downvotes"] == 0
    assert first.json()["score"] == pytest.approx(0.2065, abs=1e-4)  # Wilson 95% lower bound of 1/1
    changed = await client.put(url, json={"value": -1}, headers=voter.headers)
    assert changed.json() == {"upvotes": 0, "downvotes": 1, "score": 0.0}
    shown = await client.get(f"/techniques/{technique['id']}", headers=voter.headers)
    assert shown.json()["my_vote"] == -1
    removed = await client.delete(url, headers=voter.headers)
    assert removed.json() == {"upvotes": 0, "downvotes": 0, "score": 0.0}
    again = await client.delete(url, headers=voter.headers)
    assert again.status_code == 200 and again.json()["upvotes"] == 0


async def test_votes_refused_on_own_hidden_and_malformed(client, db, settings, technique):
    voter = await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    own = await client.put(
        f"/techniques/{technique['id']}/vote", json={"value": 1}, headers=technique["author"].headers
    )
    assert own.status_code == 403 and own.json()["code"] == "forbidden"

    pending = await submit_resource(client, technique["author"])
    for who in (voter, moderator):  # pending items take no votes, whoever can see them
        hidden = await client.put(f"/resources/{pending['id']}/vote", json={"value": 1}, headers=who.headers)
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    missing = await client.put(
        "/techniques/00000000-0000-0000-0000-000000000000/vote", json={"value": 1}, headers=voter.headers
    )
    assert missing.status_code == 404

    for body in ({"value": 0}, {"value": 2}, {"value": 1, "upvotes": 5}, {}):
        bad = await client.put(f"/techniques/{technique['id']}/vote", json=body, headers=voter.headers)
        assert bad.status_code == 422, body
    assert await db.fetchval("SELECT count(*) FROM votes") == 0


async def test_wilson_lower_bound_ranks_confidence_over_a_single_vote(db):
    wilson = "SELECT mukti_wilson_lower_bound_v1($1, $2)"
    assert await db.fetchval(wilson, 0, 0) == 0
    z = 1.959963984540054
    n, p = 10, 0.9
    expected = (p + z * z / (2 * n) - z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)) / (1 + z * z / n)
    assert await db.fetchval(wilson, 9, 1) == pytest.approx(expected)
    assert await db.fetchval(wilson, 9, 1) > await db.fetchval(wilson, 1, 0)
    assert await db.fetchval(wilson, 100, 0) > await db.fetchval(wilson, 9, 1)
