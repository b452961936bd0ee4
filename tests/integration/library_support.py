"""Helpers shared by the library tests: submitting and moderating items through the API."""

from __future__ import annotations

import asyncpg

from tests.factories import TestUser, create_user


def prompt(n: int = 1) -> str:
    return f"Ask the learner one question at a time about their topic (draft {n})."


async def submit_technique(client, author: TestUser, name: str = "Five whys", **extra) -> dict:
    body = {"name": name, "description": f"{name}: dig for the root cause", "system_prompt": prompt(), **extra}
    response = await client.post("/techniques", json=body, headers=author.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def submit_resource(client, author: TestUser, title: str = "The Meno", **extra) -> dict:
    body = {"title": title, "url": "https://example.org/meno", "kind": "book", "description": "Plato", **extra}
    response = await client.post("/resources", json=body, headers=author.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def approve(client, moderator: TestUser, kind: str, item_id: str, **body) -> dict:
    response = await client.post(f"/moderation/{kind}/{item_id}/approve", json=body or None, headers=moderator.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def users(db: asyncpg.Connection, settings, n: int, role: str = "user") -> list[TestUser]:
    return [await create_user(db, settings, role=role) for _ in range(n)]


async def tallies_match_votes(db: asyncpg.Connection, table: str, column: str, item_id: str) -> tuple[int, int]:
    """Asserts the denormalized counts and score equal the votes table; returns (up, down)."""
    row = await db.fetchrow(
        f"""SELECT t.upvotes, t.downvotes, t.score,
                   (SELECT count(*) FILTER (WHERE value = 1) FROM votes WHERE {column} = t.id) AS real_up,
                   (SELECT count(*) FILTER (WHERE value = -1) FROM votes WHERE {column} = t.id) AS real_down,
                   mukti_wilson_lower_bound_v1(t.upvotes, t.downvotes) AS real_score
              FROM {table} t WHERE t.id = $1::uuid""",
        item_id,
    )
    assert (row["upvotes"], row["downvotes"]) == (row["real_up"], row["real_down"])
    assert row["score"] == row["real_score"]
    return row["upvotes"], row["downvotes"]
