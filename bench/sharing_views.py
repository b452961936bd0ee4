"""Public share views: cost of the atomic view statement, hot-row contention, and the full route.

    uv run python bench/sharing_views.py

Uses DATABASE_URL (a migrated database; the rows it adds are deleted at the end) or a
scratch database on the local test server, migrated and dropped afterwards.
Prints views per second and latency percentiles, and the ratios that matter:
one hot link vs many links (every view of one link serializes on its row), and the
route vs the bare statement, and a password-protected view vs an open one (Argon2id).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.accounts.passwords import hash_password  # noqa: E402
from api.sharing.service import new_token  # noqa: E402
from cli import migrate  # noqa: E402
from core.crypto import hash_token  # noqa: E402
from core.database.gateway import Db  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.harness import find_server, janitor, unique_name  # noqa: E402
from tests.live_app import live_client  # noqa: E402

MESSAGES = 50
VIEWS_PER_WORKER = 100
HTTP_VIEWS = 1000
HTTP_CONCURRENCY = 20
PROTECTED_VIEWS = 100


async def arrange(conn: asyncpg.Connection) -> tuple[str, str]:
    user_id = await conn.fetchval(
        "INSERT INTO users (email) VALUES ($1) RETURNING id::text", f"bench-{uuid.uuid4().hex[:12]}@example.org"
    )
    conversation_id = await conn.fetchval(
        "INSERT INTO conversations (user_id, title, message_count) VALUES ($1::uuid, 'bench', $2) RETURNING id::text",
        user_id,
        MESSAGES,
    )
    await conn.executemany(
        "INSERT INTO recent_messages (conversation_id, seq, user_id, role, content) VALUES ($1::uuid, $2, $3::uuid, $4, $5)",
        [
            (conversation_id, s, user_id, "user" if s % 2 else "assistant", f"message {s} " + "lorem ipsum " * 40)
            for s in range(1, MESSAGES + 1)
        ],
    )
    return user_id, conversation_id


async def new_link(
    conn: asyncpg.Connection,
    user_id: str,
    conversation_id: str,
    *,
    password_hash: str | None = None,
    max_views: int = 10_000_000,
) -> str:
    token = new_token()
    await conn.execute(
        "INSERT INTO shared_links (user_id, conversation_id, token_hash, password_hash, snapshot_seq, expires_at, max_views)"
        " VALUES ($1::uuid, $2::uuid, $3, $4, $5, now() + interval '1 day', $6)",
        user_id,
        conversation_id,
        hash_token(token),
        password_hash,
        MESSAGES,
        max_views,
    )
    return token


def summarize(label: str, latencies: list[float], elapsed: float) -> float:
    ordered = sorted(latencies)
    rate = len(ordered) / elapsed
    p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99) - 1]
    print(f"{label:<60} {rate:9.0f} views/s   p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms")
    return rate


async def statement_views(url: str, tokens: list[str]) -> tuple[list[float], float]:
    """One connection per token in `tokens` (repeat a token for contention), each viewing in a loop."""
    conns = [await asyncpg.connect(url) for _ in tokens]
    latencies: list[float] = []

    async def worker(conn: asyncpg.Connection, token: str) -> None:
        db, token_hash = Db.on(conn), hash_token(token)
        for _ in range(VIEWS_PER_WORKER):
            started = time.perf_counter()
            row = await db.fetchrow(
                "sharing_view", token_hash=token_hash, password_ok=False, referrer="example.com", visitor_hash=b"v" * 32
            )
            latencies.append(time.perf_counter() - started)
            assert row is not None and row["outcome"] == "ok", row

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c, t) for c, t in zip(conns, tokens, strict=True)))
        return latencies, time.perf_counter() - started
    finally:
        for conn in conns:
            await conn.close()


async def http_views(
    client: httpx.AsyncClient, token: str, total: int, concurrency: int, headers: dict[str, str] | None = None
) -> tuple[list[float], float]:
    latencies: list[float] = []

    async def worker(n: int) -> None:
        for _ in range(n):
            started = time.perf_counter()
            response = await client.get(f"/shared/{token}", headers=headers or {})
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def run(url: str) -> None:
    conn = await asyncpg.connect(url)
    user_id, conversation_id = await arrange(conn)
    try:
        print(f"conversation of {MESSAGES} messages; {VIEWS_PER_WORKER} views per worker; {os.cpu_count()} CPUs\n")
        one = await new_link(conn, user_id, conversation_id)
        lat, el = await statement_views(url, [one])
        single = summarize("statement, 1 connection", lat, el)
        hot_token = await new_link(conn, user_id, conversation_id)
        lat, el = await statement_views(url, [hot_token] * 20)
        hot = summarize("statement, 20 connections, one hot link", lat, el)
        spread = [await new_link(conn, user_id, conversation_id) for _ in range(20)]
        lat, el = await statement_views(url, spread)
        cold = summarize("statement, 20 connections, 20 links", lat, el)
        counted = await conn.fetchval(
            "SELECT view_count FROM shared_links WHERE token_hash = $1", hash_token(hot_token)
        )
        assert counted == 20 * VIEWS_PER_WORKER, counted

        settings = Settings(database_url=url)
        async with live_client(settings) as client:
            open_token = await new_link(conn, user_id, conversation_id)
            lat, el = await http_views(client, open_token, HTTP_VIEWS, HTTP_CONCURRENCY)
            route = summarize(f"GET /shared/{{token}} in-process, {HTTP_CONCURRENCY} concurrent", lat, el)
            secret = "bench password"
            protected = await new_link(conn, user_id, conversation_id, password_hash=await hash_password(secret))
            lat, el = await http_views(client, protected, PROTECTED_VIEWS, 4, {"X-Share-Password": secret})
            guarded = summarize("same, password-protected (Argon2id verify), 4 concurrent", lat, el)

        print()
        print(f"ratio 20 connections / 1 connection (one hot link):   {hot / single:5.2f}x")
        print(f"ratio 20 links / one hot link (20 connections):       {cold / hot:5.2f}x")
        print(f"ratio route / bare statement (1 connection):          {route / single:5.2f}x")
        print(f"ratio protected / open route:                         {guarded / route:5.3f}x")
    finally:
        await conn.execute("DELETE FROM users WHERE id = $1::uuid", user_id)
        await conn.close()


def main() -> None:
    url = os.environ.get("DATABASE_URL")
    if url:
        asyncio.run(run(url))
        return
    server, embedded = find_server()
    name = unique_name("mukti_bench")
    scratch = janitor(server, name)
    scratch.init()
    try:
        migrate(server.url(name))
        asyncio.run(run(server.url(name)))
    finally:
        scratch.drop()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
