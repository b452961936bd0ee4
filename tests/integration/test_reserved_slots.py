"""Reserved slots (jobs/reserve.py, migration 0025; the worker's fetch, jobs/fetch.py, is
mukti_fetch_job_v3 since 0029, several jobs at a time, called by v4 since 0031): a worker keeps the last of its
slots for the highest plan's questions, so a backlog of lower-priority questions holding
every other slot does not make them wait for an LLM call to end."""

from __future__ import annotations

import dataclasses
import time

import asyncpg
import pytest
from procrastinate.manager import JobManager

from core.llm.stub import StubServer
from core.settings import Settings
from jobs.app import configured_app
from jobs.fetch import FetchingJobManager, job_manager
from jobs.outage import OutageGuard
from jobs.reserve import PLANS_READ_EVERY, slot_reserve
from jobs.starts import StartedAnswers
from jobs.worker import ResilientWorker
from tests.factories import create_user
from tests.integration.answering_helpers import inprocess_worker, stub_control, stub_stats, wait_until

RESERVED = "SELECT id FROM mukti_fetch_job_v3($1::varchar[], $2, $3, 1)"
V2 = "SELECT id FROM mukti_fetch_job_v2($1::varchar[], $2, $3)"
V1 = "SELECT id FROM mukti_fetch_job_v1($1::varchar[], $2, $3)"
BATCH = "SELECT id, priority FROM mukti_fetch_job_v3($1::varchar[], $2, $3, $4)"
STOCK = "SELECT id FROM procrastinate_fetch_job_v2($1::varchar[], $2)"


async def defer(conn: asyncpg.Connection, priority: int, lock: str | None, *, queue: str = "questions") -> int:
    return await conn.fetchval(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, args) "
        "VALUES ($1, 'answer_question', $2, $3, '{}') RETURNING id",
        queue,
        priority,
        lock,
    )


async def nothing_to_give_back(worker_id: int, request_ids: list[str], attempts: list[int]) -> int:
    raise AssertionError(f"these jobs name no request: no fetch started an answer ({request_ids})")


# Where a manager leaves the answers its fetches start: none here (the jobs name no request).
NO_STARTS = StartedAnswers(nothing_to_give_back)


async def new_worker(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")


async def test_a_reserved_fetch_takes_only_jobs_of_its_priority_or_higher_in_queue_order(db):
    low = [await defer(db, 0, f"conversation-{n}") for n in range(3)]
    mid = await defer(db, 5, "conversation-mid")
    high = [await defer(db, 10, f"conversation-high-{n}") for n in range(2)]
    worker = await new_worker(db)
    taken = [await db.fetchval(RESERVED, ["questions"], worker, 5) for _ in range(4)]
    assert taken == [*high, mid, None]
    rows = await db.fetch("SELECT id, status, worker_id FROM procrastinate_jobs WHERE status = 'doing'")
    assert {(r["id"], r["worker_id"]) for r in rows} == {(job, worker) for job in [*high, mid]}
    assert await db.fetchval(RESERVED, ["questions"], worker, None) == low[0]  # NULL: any priority


async def test_a_reserved_fetch_keeps_a_conversations_questions_in_order(db):
    # A high-priority question of a conversation whose earlier, lower-priority question
    # is running waits: the lock check looks at the jobs of every priority.
    running = await defer(db, 0, "conversation-a")
    await db.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = $1", running)
    await defer(db, 10, "conversation-a")
    worker = await new_worker(db)
    assert await db.fetchval(RESERVED, ["questions"], worker, 10) is None
    await db.execute("DELETE FROM procrastinate_jobs WHERE id = $1", running)
    assert await db.fetchval(RESERVED, ["titles"], worker, 10) is None  # another queue's
    assert await db.fetchval(RESERVED, ["questions"], worker, 10) is not None


async def test_it_takes_what_procrastinates_fetch_and_the_first_reserved_fetch_take(db):
    for n in range(6):
        await defer(db, n % 3 * 5, f"conversation-{n % 3}")
    await defer(db, 0, None, queue="titles")
    await defer(db, 10, None)
    # A running job holds its lock, and a job whose time has not come waits.
    running = await defer(db, 0, "conversation-running")
    await db.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = $1", running)
    await defer(db, 10, "conversation-running")
    later = await defer(db, 10, None)
    await db.execute("UPDATE procrastinate_jobs SET scheduled_at = now() + interval '1 hour' WHERE id = $1", later)
    worker = await new_worker(db)

    async def rolled_back(fetches) -> list[int]:
        tx = db.transaction()
        await tx.start()
        try:
            return await fetches
        finally:
            await tx.rollback()

    async def one_by_one(query: str, queues: list[str] | None, *extra) -> list[int]:
        order = []
        while (job := await db.fetchval(query, queues, worker, *extra)) is not None:
            order.append(job)
        return order

    async def at_once(queues: list[str] | None, minimum: int | None, size: int) -> list[int]:
        rows = await db.fetch(BATCH, queues, worker, minimum, size)
        return [r["id"] for r in sorted(rows, key=lambda r: (-r["priority"], r["id"]))]

    priority = dict(await db.fetch("SELECT id, priority FROM procrastinate_jobs"))
    for queues in (["questions"], None):
        for reference, minimum in ((STOCK, None), (V1, 5), (V2, None), (V2, 5)):
            expected = await rolled_back(one_by_one(reference, queues, *(() if reference == STOCK else (minimum,))))
            assert expected and running not in expected and later not in expected, (queues, minimum)
            assert await rolled_back(one_by_one(RESERVED, queues, minimum)) == expected, (reference, queues, minimum)
            # A batch takes at once what as many fetches of one job take in a row (none
            # beyond the first of a lock), as long as they have the first one's priority.
            first = [job for job in expected if priority[job] == priority[expected[0]]]
            assert len(first) < len(expected), "the data must have jobs of a lower priority behind"
            for size in (1, 2, len(expected)):
                assert await rolled_back(at_once(queues, minimum, size)) == first[:size], (queues, minimum, size)


async def test_a_worker_fetches_through_procrastinate_on_a_database_without_0029(db, settings):
    app = configured_app(settings)
    async with app.open_async():
        reserve = await slot_reserve(settings, app.connector)
        assert isinstance(await job_manager(app.connector, NO_STARTS, reserve, 10), FetchingJobManager)
        await db.execute("DROP FUNCTION mukti_fetch_job_v4(varchar[], bigint, integer, integer)")
        manager = await job_manager(app.connector, NO_STARTS, reserve, 10)
        assert type(manager) is JobManager  # Procrastinate's own fetch, without the reserve
        first = await defer(db, 0, "conversation-1")
        assert (await manager.fetch_job(["questions"], await new_worker(db))).id == first


@pytest.fixture
def settings(db_settings: dict, stub: StubServer) -> Settings:
    # Four slots, the last kept for the paid plan (priority 10, the highest of the plans).
    return Settings(
        **db_settings, llm_base_url=stub.base_url, llm_timeout=10, worker_concurrency=4, worker_reserved_slots=1
    )


async def ask(db: asyncpg.Connection, settings: Settings, plan: str, n: int) -> list[str]:
    """n questions of one new user on `plan`, each in a conversation of its own that has a
    title (no title job follows the answer: only the questions run)."""
    user = await create_user(db, settings, plan=plan)
    ids = []
    for _ in range(n):
        conversation = await db.fetchval(
            "INSERT INTO conversations (user_id, title, title_source) VALUES ($1::uuid, 'On doubt', 'user') "
            "RETURNING id::text",
            user.id,
        )
        ids.append(
            await db.fetchval(
                "SELECT request_id::text FROM mukti_submit_question_v7($1::uuid, $2::uuid, 'Why?', 0, 0, 3)",
                user.id,
                conversation,
            )
        )
    return ids


async def statuses(db: asyncpg.Connection, ids: list[str]) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT status, count(*) AS n FROM request_queue WHERE id = ANY($1::uuid[]) GROUP BY status", ids
    )
    return {r["status"]: r["n"] for r in rows}


async def test_a_paid_question_starts_at_once_while_free_questions_hold_every_other_slot(db, settings, stub):
    stub_control(stub, latency_ms=3000)
    free = await ask(db, settings, "free", 5)
    async with inprocess_worker(settings):
        await wait_until(
            lambda: db.fetchval(
                "SELECT count(*) = 3 FROM request_queue WHERE id = ANY($1::uuid[]) AND status = 'processing'", free
            ),
            10,
            "three free questions in their LLM calls",
        )
        [paid] = await ask(db, settings, "paid", 1)
        await wait_until(
            lambda: db.fetchval("SELECT status <> 'pending' FROM request_queue WHERE id = $1::uuid", paid),
            10,
            "the paid question taken",
        )
        # The free backlog never took the reserved slot: two of its questions still wait.
        assert await statuses(db, free) == {"processing": 3, "pending": 2}
        waited = await db.fetchval(
            "SELECT extract(epoch FROM started_at - queued_at) FROM request_queue WHERE id = $1::uuid", paid
        )
        # Without the reserve it would wait for a free question's 3 s call to end.
        assert waited < 1.5, f"the paid question waited {waited:.2f} s for a slot"
        stub_control(stub, latency_ms=0)
        await wait_until(
            lambda: db.fetchval(
                "SELECT bool_and(status = 'completed') FROM request_queue WHERE id = ANY($1::uuid[])", [*free, paid]
            ),
            30,
            "every question answered",
        )


async def test_a_lower_priority_backlog_goes_on_in_the_ordinary_slots_without_waiting_for_a_poll(db, settings, stub):
    # The loop stops fetching when the reserved slot has nothing to take; each answer that
    # ends must wake it. With a 60 s poll and no NOTIFY (the questions were asked in SQL),
    # nothing else would: 9 questions in 3 ordinary slots take three rounds of 0.3 s.
    slow_poll = dataclasses.replace(settings, worker_poll_interval=60.0)
    stub_control(stub, latency_ms=300)
    free = await ask(db, settings, "free", 9)
    started = time.monotonic()
    async with inprocess_worker(slow_poll):
        await wait_until(
            lambda: db.fetchval(
                "SELECT bool_and(status = 'completed') FROM request_queue WHERE id = ANY($1::uuid[])", free
            ),
            20,
            "the free backlog answered",
        )
    assert time.monotonic() - started < 20
    # Never more than three at once: the stub saw at most three calls in flight.
    assert stub_stats(stub)["max_in_flight"] == 3


async def test_the_reserve_is_kept_for_the_highest_plan_by_workers_that_answer_questions(db, settings):
    app = configured_app(settings)
    async with app.open_async():
        reserve = await slot_reserve(settings, app.connector)
        # 'paid', above 'free' (0), and read again as the plans change.
        assert reserve is not None and (reserve.slots, reserve.priority, reserve.follows_plans) == (1, 10, True)
        assert await slot_reserve(settings, app.connector, ["titles", "webhooks"]) is None
        explicit = await slot_reserve(dataclasses.replace(settings, worker_reserved_priority=3), app.connector)
        assert explicit is not None and (explicit.priority, explicit.follows_plans) == (3, False)
        await db.execute("UPDATE plans SET priority = 7")
        level = await slot_reserve(settings, app.connector, ["questions"])
        # No plan ranks above another: nothing reserved, until one does.
        assert level is not None and level.priority is None and level.min_priority() is None
        assert await slot_reserve(dataclasses.replace(settings, worker_reserved_slots=0), app.connector) is None
        # A database the migrations have not reached yet: the worker runs without a reserve.
        await db.execute("DROP FUNCTION mukti_fetch_job_v4(varchar[], bigint, integer, integer)")
        assert await slot_reserve(dataclasses.replace(settings, worker_reserved_priority=3), app.connector) is None


async def test_the_reserve_follows_the_plans_priorities_at_its_fetches(db, settings):
    # Every plan at one priority when the worker starts; then 'paid' is ranked above.
    await db.execute("UPDATE plans SET priority = 0")
    app = configured_app(settings)
    async with app.open_async():
        reserve = await slot_reserve(settings, app.connector)
        assert reserve is not None and reserve.priority is None
        manager = FetchingJobManager(app.connector, NO_STARTS, reserve)
        reserve.running = lambda: settings.worker_concurrency - 1  # only the last slot is free
        worker = await new_worker(db)

        first = await defer(db, 0, "conversation-1")
        assert (await manager.fetch_job(["questions"], worker)).id == first  # nothing reserved yet

        await db.execute("UPDATE plans SET priority = 20 WHERE id = 'paid'")
        second = await defer(db, 0, "conversation-2")
        # Read at most every PLANS_READ_EVERY seconds: this fetch still sees the old plans.
        assert (await manager.fetch_job(["questions"], worker)).id == second

        reserve.plans_read_at -= PLANS_READ_EVERY  # the next read is due
        third = await defer(db, 0, "conversation-3")
        assert await manager.fetch_job(["questions"], worker) is None  # the last slot is kept
        assert reserve.priority == 20
        paid = await defer(db, 20, "conversation-4")
        assert (await manager.fetch_job(["questions"], worker)).id == paid

        reserve.running = lambda: 0  # ordinary slots free again: the free question goes on
        assert (await manager.fetch_job(["questions"], worker)).id == third


async def test_a_fetch_takes_as_many_jobs_as_the_free_ordinary_slots_hold_and_starts_them_without_a_query(db, settings):
    app = configured_app(settings)
    async with app.open_async():
        reserve = await slot_reserve(settings, app.connector)  # one of four slots kept for priority 10
        assert reserve is not None and (settings.worker_concurrency, reserve.slots) == (4, 1)
        manager = FetchingJobManager(app.connector, NO_STARTS, reserve, batch=10)  # more than the slots
        running = 0  # the worker's running jobs, as ResilientWorker binds both counts
        manager.free_slots = lambda: settings.worker_concurrency - running
        reserve.running = lambda: running
        worker = await new_worker(db)
        low = [await defer(db, 0, f"conversation-{n}") for n in range(6)]
        paid = await defer(db, 10, "conversation-paid")

        # Three ordinary slots free: a fetch takes up to three jobs of one priority, the
        # first one's: the paid question alone.
        assert (await manager.fetch_job(["questions"], worker)).id == paid
        assert not manager.taken
        # Two ordinary slots free: two free questions, in the queue's order.
        running = 1
        assert (await manager.fetch_job(["questions"], worker)).id == low[0]
        doing = await db.fetch("SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = $1", worker)
        assert {r["id"] for r in doing} == {paid, *low[:2]}
        # The next turn gets the job kept, without fetching: the queue is left as it was.
        running = 2
        await db.execute("UPDATE procrastinate_jobs SET status = 'failed' WHERE status = 'todo'")
        assert (await manager.fetch_job(["questions"], worker)).id == low[1]
        await db.execute("UPDATE procrastinate_jobs SET status = 'todo' WHERE status = 'failed'")

        # Only the reserved slot free: priority 10 only, one job a fetch.
        running = 3
        assert await manager.fetch_job(["questions"], worker) is None
        assert reserve.starved
        # One ordinary slot free: one job a fetch, of any priority.
        running = 2
        assert (await manager.fetch_job(["questions"], worker)).id == low[2]
        assert not manager.taken


async def test_a_stopping_worker_gives_up_the_jobs_it_fetched_and_did_not_start(db, settings):
    app = configured_app(settings)
    async with app.open_async():
        manager = FetchingJobManager(app.connector, NO_STARTS, batch=5)
        app.job_manager = manager
        worker = ResilientWorker(guard=OutageGuard(60), app=app, concurrency=5, queues=["questions"])
        worker.worker_id = await manager.register_worker()
        jobs = [await defer(db, 0, f"conversation-{n}") for n in range(6)]
        await db.execute("UPDATE procrastinate_jobs SET queueing_lock = 'daily' WHERE id = $1", jobs[4])
        first = await manager.fetch_job(["questions"], worker.worker_id)
        assert first.id == jobs[0] and [job.id for job in manager.taken] == jobs[1:5]
        # Meanwhile: one of the jobs kept was taken for stalled and run elsewhere (no longer
        # this worker's), one's abort was asked, and a job of the same queueing lock as
        # another was queued.
        await db.execute("UPDATE procrastinate_jobs SET worker_id = NULL WHERE id = $1", jobs[2])
        await db.execute("UPDATE procrastinate_jobs SET abort_requested = true WHERE id = $1", jobs[3])
        twin = await db.fetchval(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args) "
            "VALUES ('questions', 'answer_question', 'daily', '{}') RETURNING id"
        )

        await worker._shutdown(side_tasks=[])

        rows = await db.fetch("SELECT id, status, worker_id, abort_requested FROM procrastinate_jobs ORDER BY id")
        assert [tuple(r) for r in rows] == [
            (jobs[0], "doing", None, False),  # started: the sweeper's, as any job of a worker gone
            (jobs[1], "todo", None, False),
            (jobs[2], "doing", None, False),
            (jobs[3], "aborted", None, False),
            (jobs[4], "cancelled", None, False),  # its twin waits and runs instead
            (jobs[5], "todo", None, False),
            (twin, "todo", None, False),
        ]
        assert not manager.taken
