"""Backups that are known to restore (docs/operations.md, "Backups"): a base backup of a
throwaway primary (WAL archiving on) taken while `mukti api` and `mukti worker` are asking
and answering, restored into fresh servers:

- the base backup alone (pg_basebackup's streamed WAL): every question acknowledged before
  the backup began is there, and each question there is whole;
- the base backup plus the archived WAL (restore to the end of the archive): every question
  acknowledged is there, answered or still queued; Mukti starts on it (migrations at head),
  `mukti retry-stalled --silent-for 0` puts back the jobs the lost worker held, and a worker
  answers every one, once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from cli import migrate
from core.llm.stub import StubServer
from core.settings import Settings
from db.migrations.heads import migration_heads
from tests.factories import create_user
from tests.integration.answering_helpers import stub_control, wait_until, worker_process
from tests.integration.api_process import api_process
from tests.integration.conversations_support import create_conversation, create_plan
from tests.servers import Cluster, postgres_bin

pytestmark = pytest.mark.slow

ASKERS = 6

# Each acknowledged request: its rows as they must be in any restore that has it.
WHOLE = """
WITH messages AS (
    SELECT conversation_id, seq, role, request_id FROM recent_messages
    UNION ALL
    SELECT conversation_id, seq, role, request_id FROM archived_messages
)
SELECT q.id::text AS id, q.status,
       EXISTS (SELECT 1 FROM messages m
                WHERE m.conversation_id = q.conversation_id AND m.seq = q.message_seq AND m.role = 'user') AS asked,
       (SELECT count(*) FROM messages m WHERE m.request_id = q.id AND m.role = 'assistant') AS replies,
       EXISTS (SELECT 1 FROM procrastinate_jobs j
                WHERE j.task_name = 'answer_question' AND (j.args ->> 'request_id') = q.id::text) AS job
  FROM request_queue q
 WHERE q.id = ANY($1::uuid[])
"""


async def requests(url: str, ids: list[str]) -> dict[str, asyncpg.Record]:
    db = await asyncpg.connect(url)
    try:
        return {row["id"]: row for row in await db.fetch(WHOLE, ids)}
    finally:
        await db.close()


def assert_whole(rows: dict[str, asyncpg.Record]) -> None:
    """A request is its question, and either its one reply (completed) or its job (queued)."""
    for row in rows.values():
        assert row["asked"], dict(row)
        if row["status"] == "completed":
            assert row["replies"] == 1, dict(row)
        else:
            assert row["status"] in ("pending", "processing") and row["replies"] == 0 and row["job"], dict(row)


async def test_a_base_backup_taken_while_asking_and_answering_restores_and_mukti_finishes(stub: StubServer, tmp_path):
    if postgres_bin() is None:
        pytest.skip(
            "no Postgres server binaries (initdb, pg_ctl, pg_basebackup): not in MUKTI_TEST_PG_BIN, /usr/lib/postgresql/*/bin or pgserver"
        )
    primary = Cluster.init(archive=True)
    restored: list[Cluster] = []
    backup: Path | None = None
    try:
        primary.connect().execute("CREATE DATABASE mukti")
        url = primary.url("mukti")
        migrate(url)
        db = await asyncpg.connect(url)
        try:
            await create_plan(db, "roomy", per_hour=100_000, per_day=100_000, priority=5)
            askers = []
            for _ in range(ASKERS):
                user = await create_user(db, Settings(database_url=url), plan="roomy")
                askers.append((user, await create_conversation(db, user.id)))
        finally:
            await db.close()

        # Answers take a while: at any moment some questions are queued, some being answered.
        stub_control(stub, latency_ms=300, latency_jitter_ms=300)
        env = {"MUKTI_BURST_LIMIT": "0", "MUKTI_WORKER_CONCURRENCY": "4"}
        acked: dict[str, float] = {}  # request id: when its 202 arrived
        stop = asyncio.Event()

        async def ask(api_url: str, user, conversation: str) -> None:
            async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
                n = 0
                while not stop.is_set():
                    n += 1
                    response = await http.post(
                        f"/conversations/{conversation}/messages",
                        json={"content": f"Question {n}: what do we owe strangers?"},
                        headers=user.headers,
                    )
                    assert response.status_code == 202, response.text
                    acked[response.json()["request_id"]] = time.monotonic()
                    await asyncio.sleep(0.02)

        async with api_process(url, LLM_BASE_URL=stub.base_url, **env) as api_url:
            with worker_process(url, stub.base_url, tmp_path / "worker.log", **env):
                tasks = [asyncio.create_task(ask(api_url, user, c)) for user, c in askers]

                async def asked(n: int) -> bool:
                    return len(acked) >= n

                async def answering() -> bool:
                    statuses = [r["status"] for r in (await requests(url, list(acked))).values()]
                    return len(acked) >= 30 and statuses.count("completed") >= 10

                await wait_until(answering, 60, "30 questions acknowledged, 10 answered", interval=0.2)
                backup_began = time.monotonic()
                backup = await asyncio.to_thread(primary.base_backup)
                after_backup = len(acked) + 30
                await wait_until(lambda: asked(after_backup), 60, "30 more questions after the backup")
                stop.set()
                await asyncio.gather(*tasks)
                # The backup point of the archive: WAL up to here is archived (the asking has stopped;
                # the worker is still answering).
                with primary.connect() as conn:
                    segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]

                    async def archived() -> bool:
                        done = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
                        return done is not None and done >= segment

                    await wait_until(archived, 30, f"WAL segment {segment} archived")
        primary.stop("immediate")  # the server is lost; its backup and archive remain

        ids = list(acked)
        # 1. The base backup alone.
        restored.append(Cluster.restore(backup))
        rows = await requests(restored[-1].url("mukti"), ids)
        assert_whole(rows)
        before_backup = {i for i, at in acked.items() if at < backup_began}
        assert before_backup and before_backup <= set(rows)

        # 2. The base backup and the archive.
        restored.append(Cluster.restore(backup, archive=primary.archive))
        restored_url = restored[-1].url("mukti")
        rows = await requests(restored_url, ids)
        assert set(rows) == set(ids)
        assert_whole(rows)
        queued = [i for i, row in rows.items() if row["status"] != "completed"]
        # Both kinds at the backup point, or the test proves less than it says.
        assert queued and len(queued) < len(rows), (len(queued), len(rows))

        # Mukti on the restored server: migrations at head, the lost worker's jobs back in the
        # queue, a new worker answers every question once.
        restored_db = await asyncpg.connect(restored_url)
        try:
            assert {await restored_db.fetchval("SELECT version_num FROM alembic_version")} == migration_heads()
        finally:
            await restored_db.close()
        subprocess.run(
            [sys.executable, "-m", "cli", "retry-stalled", "--silent-for", "0"],
            env={**os.environ, "DATABASE_URL": restored_url},
            check=True,
            capture_output=True,
        )
        stub_control(stub, latency_ms=10, latency_jitter_ms=0)
        async with api_process(restored_url, LLM_BASE_URL=stub.base_url, **env) as api_url:
            with worker_process(restored_url, stub.base_url, tmp_path / "worker2.log", **env):
                async with httpx.AsyncClient() as http:  # the restored database is at the migrations' head
                    assert (await http.get(api_url + "/ready")).status_code == 200

                async def all_answered() -> bool:
                    return all(r["status"] == "completed" for r in (await requests(restored_url, ids)).values())

                await wait_until(all_answered, 90, f"the {len(queued)} queued questions to be answered", interval=0.2)
        final = await requests(restored_url, ids)
        assert all(row["status"] == "completed" and row["replies"] == 1 for row in final.values())
    finally:
        for cluster in restored:
            cluster.destroy()
        primary.destroy()
        if backup is not None:
            shutil.rmtree(backup.parent, ignore_errors=True)
