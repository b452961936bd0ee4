"""Answers started by the worker's fetch (mukti_fetch_job_v4, migration 0031; jobs/fetch.py,
jobs/starts.py): the statement that takes a worker's jobs also starts the answer of each
question among them, under Row-Level Security as the task would, and leaves the task the
row it would have fetched; a start that cannot be made stays the task's; jobs given back
unstarted give their requests back."""

from __future__ import annotations

import dataclasses
import json
import time

import asyncpg

from core.database.gateway import Db
from jobs.app import configured_app
from jobs.fetch import FetchingJobManager
from jobs.starts import StartedAnswers, unstarting_through
from tests.factories import create_user
from tests.integration.answering_helpers import inprocess_worker, wait_until
from tests.integration.conversations_support import create_conversation

SUBMIT = "SELECT request_id::text, job_id FROM mukti_submit_question_v7($1::uuid, $2::uuid, $3, 0, 0, 3)"


async def ask(db: asyncpg.Connection, user_id: str, content: str) -> tuple[str, int]:
    """A question in a conversation of its own, as the API asks it (its job names the owner)."""
    row = await db.fetchrow(SUBMIT, user_id, await create_conversation(db, user_id), content)
    return row["request_id"], row["job_id"]


async def name_another_owner(db: asyncpg.Connection, job_id: int, user_id: str) -> None:
    """The job names `user_id` as its request's owner (a job written wrongly, or tampered with)."""
    await db.execute(
        "UPDATE procrastinate_jobs SET args = jsonb_set(args, '{user_id}', to_jsonb($2::text)) WHERE id = $1",
        job_id,
        user_id,
    )


async def request_state(db: asyncpg.Connection, request_id: str) -> tuple[str, int]:
    row = await db.fetchrow("SELECT status, attempts FROM request_queue WHERE id = $1::uuid", request_id)
    return row["status"], row["attempts"]


def manager_of(app, pool: asyncpg.Pool, batch: int) -> FetchingJobManager:
    manager = FetchingJobManager(app.connector, StartedAnswers(unstarting_through(Db(pool))), batch=batch)
    manager.free_slots = lambda: batch
    return manager


async def assert_fetched_unstarted(db: asyncpg.Connection, pool: asyncpg.Pool, settings, request_id: str, job_id: int):
    """A fetch of one job (as the app role) takes `job_id` and does not start its request."""
    worker = await db.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
    app = configured_app(settings)
    async with app.open_async():
        manager = manager_of(app, pool, batch=1)
        assert (await manager.fetch_job(["questions"], worker)).id == job_id
    assert manager.started.take(job_id) is None
    assert await request_state(db, request_id) == ("pending", 0)


async def test_a_fetch_starts_the_answers_of_the_questions_it_takes_and_leaves_the_rows_to_their_tasks(
    db, pool, settings
):
    user = await create_user(db, settings, plan="paid")
    asked = [await ask(db, user.id, f"question {n}?") for n in range(3)]
    # A job of another task, of the questions' priority (a fetch takes one priority).
    title_job = await db.fetchval(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args) "
        "VALUES ('questions', 'generate_title', 10, '{}') RETURNING id"
    )
    worker = await db.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
    app = configured_app(settings)  # as the app role (MUKTI_DB_ROLE), as the asyncpg pool
    async with app.open_async():
        manager = manager_of(app, pool, batch=4)
        first = await manager.fetch_job(["questions"], worker)
        jobs = [first, *manager.taken]
    assert {job.id for job in jobs} == {job_id for _, job_id in asked} | {title_job}

    # The title job: taken, nothing started.
    assert manager.started.take(title_job) is None
    # Each question: 'processing', one attempt, and its start row waits for its task, once.
    reference = await Db.on(db).fetchrow("answering_start_attempt", request_id=asked[0][0], user_id=user.id)
    assert reference is not None and reference["attempts"] == 2  # the fetch's start was the first
    for n, (request_id, job_id) in enumerate(asked):
        row = manager.started.take(job_id)
        assert row is not None and manager.started.take(job_id) is None
        assert set(row) == set(reference.keys())  # the columns of answering_start_attempt
        assert (row["request_id"], row["user_id"], row["cancel_requested"]) == (request_id, user.id, False)
        assert json.loads(row["messages"]) == [{"role": "user", "content": f"question {n}?"}]
        assert row["attempts"] == 1 and await request_state(db, request_id) == ("processing", 2 if n == 0 else 1)
    assert len(manager.started) == 0
    # The pending counters followed the starts (counted in the fetch's batch slot).
    assert await db.fetchval("SELECT coalesce(sum(pending), 0) FROM request_queue_pending_counts") == 0


async def test_a_start_that_fails_or_waits_stays_its_tasks_and_the_fetch_goes_on(db, pool, settings, database_url):
    user = await create_user(db, settings)
    locked_request, locked_job = await ask(db, user.id, "held?")
    broken_job = await db.fetchval(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args) VALUES ('questions', 'answer_question', "
        """'{"request_id": "not-a-uuid", "user_id": "not-a-uuid"}') RETURNING id"""
    )
    fine_request, fine_job = await ask(db, user.id, "fine?")
    worker = await db.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
    holder = await asyncpg.connect(database_url)
    app = configured_app(settings)
    try:
        async with holder.transaction(), app.open_async():
            # A cancel (or a deletion) holds the request's row for longer than a fetch may wait.
            await holder.execute("SELECT 1 FROM request_queue WHERE id = $1::uuid FOR UPDATE", locked_request)
            manager = manager_of(app, pool, batch=3)
            started = time.monotonic()
            first = await manager.fetch_job(["questions"], worker)
            waited = time.monotonic() - started
            assert {first.id, *(job.id for job in manager.taken)} == {locked_job, broken_job, fine_job}
    finally:
        await holder.close()
    # The fetch waited 200 ms for the held row, not for the holder's transaction.
    assert 0.2 <= waited < 5
    assert manager.started.take(locked_job) is None and manager.started.take(broken_job) is None
    assert await request_state(db, locked_request) == ("pending", 0)  # its task will start it
    assert manager.started.take(fine_job) is not None
    assert await request_state(db, fine_request) == ("processing", 1)


async def test_jobs_given_back_unstarted_give_back_their_requests_and_not_one_taken_elsewhere(db, pool, settings):
    user = await create_user(db, settings, plan="paid")
    asked = [await ask(db, user.id, f"question {n}?") for n in range(4)]
    worker = await db.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
    app = configured_app(settings)
    async with app.open_async():
        manager = manager_of(app, pool, batch=4)
        first = await manager.fetch_job(["questions"], worker)
        assert first.id == asked[0][1] and [job.id for job in manager.taken] == [job for _, job in asked[1:]]
        # Meanwhile one of the jobs kept was taken for stalled (another worker may be
        # answering it), and another's request was started again (its attempt moved on).
        await db.execute("UPDATE procrastinate_jobs SET worker_id = NULL WHERE id = $1", asked[2][1])
        await db.execute("UPDATE request_queue SET attempts = 2 WHERE id = $1::uuid", asked[3][0])
        await manager.release_taken(worker)
    assert await request_state(db, asked[0][0]) == ("processing", 1)  # started: its task runs
    assert await request_state(db, asked[1][0]) == ("pending", 0)  # back, the attempt undone
    assert await request_state(db, asked[2][0]) == ("processing", 1)  # not this worker's any more
    assert await request_state(db, asked[3][0]) == ("processing", 2)  # not the attempt its fetch started
    assert await db.fetchval("SELECT status FROM procrastinate_jobs WHERE id = $1", asked[1][1]) == "todo"
    assert len(manager.started) == 1 and manager.started.take(first.id) is not None
    assert await db.fetchval("SELECT coalesce(sum(pending), 0) FROM request_queue_pending_counts") == 1


async def test_a_worker_answers_a_question_its_fetch_started_with_one_attempt(db, settings, stub):
    user = await create_user(db, settings, plan="paid")
    request_id, _ = await ask(db, user.id, "Is courage a kind of knowledge?")
    async with inprocess_worker(dataclasses.replace(settings, llm_base_url=stub.base_url)):

        async def answered() -> bool:
            return await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", request_id) == "completed"

        await wait_until(answered, 20, "the question answered")
    # Started once: by the fetch, not again by the task.
    assert await request_state(db, request_id) == ("completed", 1)


async def test_a_fetch_starts_no_request_its_job_names_for_another_user(db, pool, settings):
    # Row-Level Security, as for the task: the fetch's connections act as the app role
    # (MUKTI_DB_ROLE; here the tests log in as a superuser, to whom RLS never applies).
    owner = await create_user(db, settings)
    other = await create_user(db, settings)
    request_id, job_id = await ask(db, owner.id, "whose?")
    await name_another_owner(db, job_id, other.id)
    await assert_fetched_unstarted(db, pool, settings, request_id, job_id)


async def test_a_fetch_that_row_level_security_does_not_bind_checks_the_owner_itself(db, pool, settings):
    # Logged in as a superuser without MUKTI_DB_ROLE (as behind a transaction-mode pooler,
    # logged in as the owner; as in the benchmarks): the policies would not refuse a job
    # naming another user's request, so the fetch checks the owner itself.
    owner = await create_user(db, settings)
    other = await create_user(db, settings)
    request_id, job_id = await ask(db, owner.id, "whose?")
    misnamed_request, misnamed_job = await ask(db, owner.id, "and this one?")
    await name_another_owner(db, misnamed_job, other.id)
    worker = await db.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
    app = configured_app(dataclasses.replace(settings, db_role=None))
    async with app.open_async():
        manager = manager_of(app, pool, batch=2)
        jobs = [await manager.fetch_job(["questions"], worker), *manager.taken]
    assert {job.id for job in jobs} == {job_id, misnamed_job}
    assert manager.started.take(misnamed_job) is None
    assert await request_state(db, misnamed_request) == ("pending", 0)
    assert manager.started.take(job_id) is not None
    assert await request_state(db, request_id) == ("processing", 1)


async def test_a_fetch_whose_batch_slot_is_busy_starts_nothing_and_does_not_wait(db, pool, settings):
    user = await create_user(db, settings)
    request_id, job_id = await ask(db, user.id, "now?")
    # Every batch slot held (by reply or accept batches of other backends).
    await db.execute("SELECT pg_advisory_lock(hashtext('mukti.pending_slot'), s) FROM generate_series(64, 127) s")
    await assert_fetched_unstarted(db, pool, settings, request_id, job_id)
