"""Benchmark of answering: the worker draining questions against the offline LLM stub.

    uv run python bench/answer.py [--requests 2000] [--slow-requests 1500] [--concurrency 100] [--processes 2]
                                  [--pickup-requests 300] [--pickup-rate 50] [--api-load 200] [--held-requests 20]

Phases (each bounded by --seconds):
  1. stock Procrastinate draining no-op jobs on the same database: jobs/s (the baseline);
  2. 0 ms stub: a backlog of questions, each in its own conversation, answered by one
     `mukti worker` process, then by --processes of them: completions/s from first
     pickup to last stored reply, and the ratio (the better of the two) to phase 1. The
     one-process run is done twice, on a backlog asked through the previous submit
     function (its jobs do not name the owner: the worker looks it up) and through
     today's, side by side;
  3. 2 s stub: the LLM calls one worker process keeps in flight (the stub's maximum of
     concurrent calls) and completions/s;
  4. pickup latency: questions enqueued at a steady rate (--pickup-rate) into an idle
     worker, from enqueue (queued_at) to processing (started_at), p50 and p99: woken by
     Procrastinate's per-row NOTIFY, then by the API's coalesced NOTIFY (both asked by
     calling the submit function, as the API does); then, unless --api-load is 0, again
     with the coalesced NOTIFY while a `mukti api --workers 2` (same database, same LLM
     stub settings as the worker) accepts --api-load questions/s over HTTP from other
     users. The measured questions go through that API too (POST
     /conversations/{id}/messages), so the API processes' own wake-ups are what wakes the
     worker. The load's users are on a plan of LOWER priority (bench/ask.py's 'bench', 5)
     than the measured users' ('paid', 10): Procrastinate fetches by priority, then id, so
     a backlog of load questions (the worker may answer fewer than the API accepts) delays
     a measured question only until a slot of the worker frees, not until the backlog is
     drained. The load starts a second before the measured questions and ends a second
     after them; the queue is ANALYZEd at the end of that second, as autovacuum does on a
     queue in steady use (with an empty queue's statistics each fetch of a job scans the
     whole backlog). Each measured question comes from a user of its own. Printed: the
     load offered and accepted (and the answers that were not 202), the measured
     questions' HTTP figures (with when their slowest 1 % were sent and the stalls of the
     disk under the data directory meanwhile: bench/ask.py, phase 2), their pickup
     latency, and how many load questions the worker answered meanwhile. Run twice: by a
     worker without reserved slots (MUKTI_WORKER_RESERVED_SLOTS=0, as before migration
     0025), then by one as shipped, which keeps a tenth of its slots for the highest
     plan's questions (jobs/reserve.py).
     Each worker is started, then waited for until it LISTENs.
  5. pickup latency behind slow calls: free-plan questions (priority 0) in LLM calls of
     0.5-1.5 times --held-latency s hold the slots of a worker of --held-concurrency, with a backlog left;
     --held-requests paid questions (priority 10) are asked at --held-rate/s (woken by the
     coalesced NOTIFY). Without reserved slots each waits for a free question's call to
     end; with them (a tenth of the slots, for the highest plan) it starts at once.
  6. the ratio of phase 2 to phase 1 in turns (--ratio-rounds, 0: none): stock
     Procrastinate's drain and one worker's drain of a new backlog of --requests, one
     after the other in each round, the order swapped every round, each round's ratio
     and their mean printed. Phases 1 and 2 lie minutes apart, and these boxes' speed
     drifts by a fifth within minutes; until 4 December (late night) their ratio was
     the only one.
Uses DATABASE_URL, or creates (and afterwards drops) a scratch database on
127.0.0.1:5432. The stub, the worker and the API run as processes of their own, on
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import procrastinate
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ask import BASELINE, SUBMIT, Client, arrange, ask_targets, fixed_rate, start_api  # noqa: E402
from bench.common import (  # noqa: E402
    COALESCED,
    FETCH_AS_SHIPPED,
    FETCH_PLANNED_EACH_CALL,
    PER_ROW_NOTIFY,
    DiskStalls,
    box_cpu_seconds,
    box_speed,
    free_port,
    scratch_database,
    wait_http,
)
from core.database.gateway import Db  # noqa: E402
from core.database.wake import JobWaker  # noqa: E402
from core.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "What would have to be true for this to be false?"
PER_USER = 90  # under the paid plan's 100 questions an hour
# Phase 4 under load: the measured questions' plan (conversations() below) and the load's
# (bench/ask.py's arrange()), whose priority is lower.
MEASURED_PLAN, LOAD_PLAN = "paid", "bench"
LEAD = 1.0  # seconds of load before the measured questions and after them


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str]):
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def clear_queue(pool: asyncpg.Pool) -> None:
    await pool.execute("DELETE FROM procrastinate_jobs")
    await pool.execute("TRUNCATE request_queue, recent_messages, rate_limits")


async def conversations(
    pool: asyncpg.Pool, n: int, per_user: int = PER_USER, plan: str = MEASURED_PLAN
) -> list[tuple[str, str]]:
    """n fresh (user, conversation) pairs, `per_user` conversations per user on `plan`."""
    pairs = []
    for start in range(0, n, per_user):
        user = await pool.fetchval(
            "WITH u AS (INSERT INTO users (email) VALUES ($1) RETURNING id) "
            "INSERT INTO subscriptions (user_id, plan_id) SELECT id, $2 FROM u RETURNING user_id::text",
            f"bench-{uuid.uuid4().hex}@example.org",
            plan,
        )
        rows = await pool.fetch(
            "INSERT INTO conversations (user_id) SELECT $1::uuid FROM generate_series(1, $2) RETURNING id::text",
            user,
            min(per_user, n - start),
        )
        pairs += [(user, r["id"]) for r in rows]
    return pairs


async def submit(pool: asyncpg.Pool, user: str, conversation: str, function: str = SUBMIT) -> None:
    outcome = await pool.fetchval(
        f"SELECT outcome FROM {function}($1::uuid, $2::uuid, $3, 0, 0, 3)", user, conversation, QUESTION
    )
    assert outcome == "accepted", outcome


async def submit_all(pool: asyncpg.Pool, pairs: list[tuple[str, str]], function: str = SUBMIT) -> None:
    # One user's questions serialise on their subscription row: one sender per user.
    by_user: dict[str, list[str]] = {}
    for user, conversation in pairs:
        by_user.setdefault(user, []).append(conversation)

    async def send(user: str, convs: list[str]) -> None:
        for conversation in convs:
            await submit(pool, user, conversation, function)

    await asyncio.gather(*(send(u, c) for u, c in by_user.items()))
    await analyze(pool.execute)


async def analyze(execute) -> None:
    # A queue filled in one go has no statistics yet, and Procrastinate's fetch plans
    # badly without them; autovacuum provides them on a queue in steady use.
    await execute("ANALYZE procrastinate_jobs, request_queue, recent_messages, conversations")


async def wait_completed(pool: asyncpg.Pool, n: int, seconds: float, plan: str | None = None) -> int:
    """Until n requests (of `plan`, or of any) are completed, at most `seconds`; the count."""
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        done = await pool.fetchval(
            "SELECT count(*) FROM request_queue WHERE status = 'completed' AND ($1::text IS NULL OR plan_id = $1)",
            plan,
        )
        if done >= n:
            break
        await asyncio.sleep(0.25)
    return done


@contextlib.asynccontextmanager
async def listening_worker(pool: asyncpg.Pool, env: dict[str, str], seconds: float = 60):
    """A `mukti worker` process, entered once it LISTENs for jobs (registered, its first
    fetch done or under way): on a busy machine its start alone can take seconds."""
    since = await pool.fetchval("SELECT clock_timestamp()")
    with process(["worker"], env):
        deadline = time.monotonic() + seconds
        # Polled: another process brings it about, and Postgres has no event for it.
        while not await pool.fetchval(
            "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_start >= $1 AND query ILIKE 'LISTEN %procrastinate%')",
            since,
        ):
            if time.monotonic() > deadline:
                raise SystemExit("the worker did not start listening")
            await asyncio.sleep(0.05)
        yield


async def pickup_latencies(pool: asyncpg.Pool, plan: str | None = None) -> list[float]:
    """Enqueue (queued_at) to processing (started_at) of the requests (of `plan`), in ms."""
    return [
        r["ms"]
        for r in await pool.fetch(
            "SELECT extract(epoch FROM started_at - queued_at) * 1000 AS ms FROM request_queue "
            "WHERE started_at IS NOT NULL AND ($1::text IS NULL OR plan_id = $1)",
            plan,
        )
    ]


async def pickup_under_api_load(
    pool: asyncpg.Pool, url: str, stub_url: str, worker_env: dict[str, str], args, reserve: str
) -> None:
    """Phase 4 with the API's load (see the module docstring), by a worker whose reserved
    slots are as `reserve` says: prints the load's line, the measured questions' HTTP line,
    the pickup latency and the load answered meanwhile."""
    await clear_queue(pool)
    await pool.execute(COALESCED)
    settings = Settings.from_env()
    span = args.pickup_requests / args.pickup_rate
    # One user per measured question: one user's questions serialise on their subscription
    # row, and 50/s from two users would wait for each other in the API.
    measured = ask_targets(settings, await conversations(pool, args.pickup_requests, per_user=1))
    # One conversation per load question, so that none waits behind its conversation's lock.
    load = ask_targets(settings, arrange(url, math.ceil(args.api_load * (span + 2 * LEAD))))
    priority = dict(
        await pool.fetch("SELECT id, priority FROM plans WHERE id = ANY($1::text[])", [MEASURED_PLAN, LOAD_PLAN])
    )
    assert priority[LOAD_PLAN] < priority[MEASURED_PLAN], priority
    plans = f"plan '{LOAD_PLAN}' priority {priority[LOAD_PLAN]} < '{MEASURED_PLAN}' {priority[MEASURED_PLAN]}"
    httpx.post(stub_url + "/_reset")
    disk = DiskStalls(url)  # its stalls while the measured questions are asked
    port = free_port()
    api = start_api(url, port, **worker_env)  # returns once both API processes have started
    try:
        async with listening_worker(pool, worker_env):  # and idle

            async def trickle() -> None:
                await asyncio.sleep(LEAD)  # the load's lead-in: part of the schedule
                # The queue's statistics as autovacuum keeps them on a queue in steady use
                # (see analyze()): without them each fetch of a job scans the backlog.
                await analyze(pool.execute)
                await fixed_rate(
                    Client(port, measured, max_connections=256),
                    args.pickup_rate,
                    span,
                    f"measured questions (HTTP, plan '{MEASURED_PLAN}')",
                    disk=disk,
                )

            started = time.perf_counter()
            with disk:
                (accepted, _), _ = await asyncio.gather(
                    fixed_rate(
                        Client(port, load, max_connections=256),
                        args.api_load,
                        span + 2 * LEAD,
                        f"API load (other users, {plans})",
                    ),
                    trickle(),
                )
            elapsed = time.perf_counter() - started
            answered, queued, measured_answered = await pool.fetchrow(
                "SELECT count(*) FILTER (WHERE plan_id = $1 AND status = 'completed'), "
                "count(*) FILTER (WHERE plan_id = $1), "
                "count(*) FILTER (WHERE plan_id = $2 AND status = 'completed') FROM request_queue",
                LOAD_PLAN,
                MEASURED_PLAN,
            )
            await wait_completed(pool, len(measured), args.seconds, plan=MEASURED_PLAN)
    finally:
        api.terminate()
        api.wait(timeout=30)
    latencies = await pickup_latencies(pool, MEASURED_PLAN)
    print(
        f"pickup latency (enqueue -> processing) at {args.pickup_rate}/s, {reserve}, coalesced NOTIFY, while the API "
        f"accepts {accepted:.0f}/s (offered {args.api_load:.0f}/s) from users on a lower-priority plan "
        f"({plans}): p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms "
        f"({len(latencies)} questions)",
        flush=True,
    )
    print(
        f"load questions answered during the phase: {answered} of {queued} accepted "
        f"({answered / elapsed:.0f}/s over {elapsed:.1f} s; one worker process, concurrency {args.concurrency}), "
        f"and {measured_answered} of the {len(measured)} measured questions",
        flush=True,
    )
    await clear_queue(pool)


async def pickup_behind_slow_calls(pool: asyncpg.Pool, stub_url: str, worker_env: dict[str, str], args) -> None:
    """Phase 5 (see the module docstring): paid questions asked while free questions in
    slow LLM calls hold the worker's slots, without reserved slots and as shipped."""
    concurrency = args.held_concurrency
    interval = 1 / args.held_rate
    for reserve, env in (
        ("no reserved slots", {"MUKTI_WORKER_RESERVED_SLOTS": "0"}),
        ("reserved slots as shipped", {}),
    ):
        await clear_queue(pool)
        httpx.post(stub_url + "/_reset")
        # Calls of 0.5-1.5x the mean, spread as real ones are (equal calls would end together
        # and free the slots in waves).
        httpx.post(
            stub_url + "/_control",
            json={"latency_ms": args.held_latency * 500, "latency_jitter_ms": args.held_latency * 1000},
        )
        # Enough free questions to keep every slot busy until the last paid one is asked
        # (the free plan allows 10 an hour: 5 per user).
        backlog = concurrency + math.ceil(args.held_requests * interval * concurrency / args.held_latency)
        await submit_all(pool, await conversations(pool, backlog, per_user=5, plan="free"))
        paid = await conversations(pool, args.held_requests, per_user=1)
        held_env = {**worker_env, "MUKTI_WORKER_CONCURRENCY": str(concurrency), **env}
        async with listening_worker(pool, held_env):
            # Until the free questions hold the slots they may take (all, or all but the reserved).
            deadline = time.monotonic() + args.seconds
            while await pool.fetchval("SELECT count(*) FROM request_queue WHERE status = 'processing'") < (
                concurrency * 9 // 10
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("the free questions did not fill the worker's slots")
                await asyncio.sleep(0.05)
            waker = JobWaker(pool, window=Settings.from_env().wake_window)
            for user, conversation in paid:
                await submit(pool, user, conversation)
                waker.poke()
                await asyncio.sleep(interval)
            await waker.close()
            deadline = time.monotonic() + args.seconds
            while await pool.fetchval(
                "SELECT count(*) FROM request_queue WHERE plan_id = $1 AND started_at IS NULL", MEASURED_PLAN
            ):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            latencies = await pickup_latencies(pool, MEASURED_PLAN)
            # The worker's shutdown waits for the calls in flight.
            httpx.post(stub_url + "/_control", json={"latency_ms": 0, "latency_jitter_ms": 0})
        print(
            f"pickup latency of '{MEASURED_PLAN}' questions at {args.held_rate:g}/s while free questions in LLM "
            f"calls of {args.held_latency / 2:g}-{args.held_latency * 1.5:g} s hold the slots (concurrency "
            f"{concurrency}), {reserve}: "
            f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
            f"{len(latencies)} of {len(paid)} taken in the time limit",
            flush=True,
        )
    await clear_queue(pool)


async def drain(pool: asyncpg.Pool, n: int, seconds: float) -> str:
    """Wait for a backlog of n to be answered (as wait_completed); what the box spent on it
    from the first pickup on (the worker's start excluded): how busy its cores were, its
    CPU per answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not await pool.fetchval(
        "SELECT EXISTS (SELECT FROM request_queue WHERE started_at IS NOT NULL)"
    ):
        await asyncio.sleep(0.01)
    done_before = await pool.fetchval("SELECT count(*) FROM request_queue WHERE status = 'completed'")
    cpu, wall = box_cpu_seconds(), time.monotonic()
    done = await wait_completed(pool, n, deadline - time.monotonic())
    cpu, wall = box_cpu_seconds() - cpu, time.monotonic() - wall
    answered = max(done - done_before, 1)
    return (
        f"box busy {100 * cpu / wall / (os.cpu_count() or 1):.0f} %, {1000 * cpu / answered:.2f} ms of CPU per answer"
    )


async def reply_batches(pool: asyncpg.Pool) -> tuple[float, float]:
    """The workers' reply batches so far (jobs/replies.py): batches, and replies in them."""
    totals = {(r["name"], r["labels"]): r["value"] for r in await Db(pool).fetch("metrics_totals")}
    committed = 'outcome="committed"'
    return totals.get(("mukti_reply_batches_total", committed), 0), totals.get(
        ("mukti_reply_batched_total", committed), 0
    )


async def per_transaction(pool: asyncpg.Pool, before: tuple[float, float], answered: int) -> str:
    """The answers per transaction that stored them, from the workers' counters (flushed
    when they stop): each batch one transaction, each reply outside a batch one."""
    batches, batched = (now - then for now, then in zip(await reply_batches(pool), before, strict=True))
    transactions = batches + max(answered - batched, 0)
    return f"{answered / max(transactions, 1):.1f} answers per stored-reply transaction"


async def completion_rate(pool: asyncpg.Pool) -> tuple[int, float]:
    row = await pool.fetchrow(
        "SELECT count(*) AS n, extract(epoch FROM max(completed_at) - min(started_at)) AS span "
        "FROM request_queue WHERE status = 'completed'"
    )
    return row["n"], (row["n"] / float(row["span"]) if row["span"] else 0.0)


async def stock_baseline(url: str, jobs: int, concurrency: int, seconds: float, fetch: str) -> float:
    """Stock Procrastinate (its default connector, no tuning) draining no-op jobs, with its
    fetch of the next job set up by `fetch` (as shipped, or as migration 0022 has it)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(fetch)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url, min_size=4, max_size=20))
    done = 0

    @app.task(name="bench_noop", queue="bench_noop")
    async def noop() -> None:
        nonlocal done
        done += 1

    async def run() -> float:
        async with app.open_async():
            await app.connector.execute_query_async(
                "SELECT procrastinate_defer_jobs_v1(array_agg(ROW('bench_noop', 'bench_noop', 0, NULL, NULL, "
                "'{}'::jsonb, NULL)::procrastinate_job_to_defer_v1)) FROM generate_series(1, %(n)s)",
                n=jobs,
            )
            await analyze(app.connector.execute_query_async)
            started = time.perf_counter()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    app.run_worker_async(
                        queues=["bench_noop"],
                        concurrency=concurrency,
                        wait=False,
                        install_signal_handlers=False,
                        delete_jobs="successful",
                    ),
                    seconds,
                )
            elapsed = time.perf_counter() - started
            await app.connector.execute_query_async("DELETE FROM procrastinate_jobs")
            return done / elapsed

    return await run()


async def main_async(args, url: str) -> None:
    print(box_speed())
    stub_port = free_port()
    stub_url = f"http://127.0.0.1:{stub_port}"
    pool = await asyncpg.create_pool(url, min_size=2, max_size=8)
    try:
        with process(["llm-stub", "--port", str(stub_port)], {}):
            wait_http(stub_url + "/v1/models")
            worker_env = {
                "DATABASE_URL": url,
                "LLM_BASE_URL": stub_url + "/v1",
                "MUKTI_WORKER_CONCURRENCY": str(args.concurrency),
            }

            # 2. 0 ms stub: a backlog drained by one worker process, asked through the
            # previous submit function, then through today's.
            for function in (BASELINE, SUBMIT):
                await clear_queue(pool)
                await submit_all(pool, await conversations(pool, args.requests), function)
                before = await reply_batches(pool)
                with process(["worker"], worker_env):
                    spent = await drain(pool, args.requests, args.seconds)
                n, fast_rate = await completion_rate(pool)
                spent += ", " + await per_transaction(pool, before, n)
                print(
                    f"0 ms stub, asked through {function}: {n}/{args.requests} completed, {fast_rate:.0f} "
                    f"completions/s (one worker process, concurrency {args.concurrency}); {spent}",
                    flush=True,
                )
            ratio_to = fast_rate
            if args.processes > 1:
                # The same backlog drained by several worker processes (each fetches on its own).
                await clear_queue(pool)
                await submit_all(pool, await conversations(pool, args.requests))
                before = await reply_batches(pool)
                with contextlib.ExitStack() as workers:
                    for _ in range(args.processes):
                        workers.enter_context(process(["worker"], worker_env))
                    spent = await drain(pool, args.requests, args.seconds)
                n, multi_rate = await completion_rate(pool)
                spent += ", " + await per_transaction(pool, before, n)
                print(
                    f"0 ms stub: {n}/{args.requests} completed, {multi_rate:.0f} completions/s with "
                    f"{args.processes} worker processes ({multi_rate / args.processes:.0f} per process); {spent}",
                    flush=True,
                )
                ratio_to = max(ratio_to, multi_rate)

            # 3. 2 s stub: calls in flight in one worker process.
            await clear_queue(pool)
            httpx.post(stub_url + "/_reset")
            httpx.post(stub_url + "/_control", json={"latency_ms": 2000})
            await submit_all(pool, await conversations(pool, args.slow_requests))
            slow_env = {**worker_env, "MUKTI_WORKER_CONCURRENCY": str(args.slow_requests)}
            with process(["worker"], slow_env):
                await wait_completed(pool, args.slow_requests, args.seconds)
            in_flight = httpx.get(stub_url + "/_stats").json()["max_in_flight"]
            n, slow_rate = await completion_rate(pool)
            print(
                f"2 s stub: {n}/{args.slow_requests} completed in the time limit, {slow_rate:.0f} completions/s, "
                f"at most {in_flight} LLM calls in flight in one worker process",
                flush=True,
            )

            # 4. Pickup latency: a steady trickle into an idle worker (0 ms stub), woken by
            # Procrastinate's per-row NOTIFY (before migration 0018), then as the API now
            # wakes it (one coalesced NOTIFY per MUKTI_WAKE_WINDOW, core/database/wake.py),
            # then the latter while the API accepts --api-load questions/s from others.
            for mode, trigger in (("per-row NOTIFY", PER_ROW_NOTIFY), ("coalesced NOTIFY", COALESCED)):
                await clear_queue(pool)
                await pool.execute(trigger)
                httpx.post(stub_url + "/_reset")
                pairs = await conversations(pool, args.pickup_requests)
                async with listening_worker(pool, worker_env):  # and idle
                    interval = 1 / args.pickup_rate
                    waker = JobWaker(pool, window=Settings.from_env().wake_window)
                    for user, conversation in pairs:
                        await submit(pool, user, conversation)
                        if trigger is COALESCED:
                            waker.poke()
                        await asyncio.sleep(interval)
                    await waker.close()
                    await wait_completed(pool, len(pairs), args.seconds)
                latencies = await pickup_latencies(pool)
                print(
                    f"pickup latency (enqueue -> processing) at {args.pickup_rate}/s, {mode}: "
                    f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms "
                    f"({len(latencies)} questions)",
                    flush=True,
                )
            # The same trickle, now through the API while it accepts the load (see above),
            # by a worker without reserved slots (as before migration 0025), then with them
            # as shipped: a tenth of the slots kept for the highest plan, the measured one.
            if args.api_load:
                for reserve, env in (
                    ("no reserved slots", {"MUKTI_WORKER_RESERVED_SLOTS": "0"}),
                    ("reserved slots as shipped", {}),
                ):
                    await pickup_under_api_load(pool, url, stub_url, {**worker_env, **env}, args, reserve)

            # 5. Pickup of paid questions while free ones in slow LLM calls hold the slots.
            if args.held_requests:
                await pickup_behind_slow_calls(pool, stub_url, worker_env, args)

            # 6. Answered/stock in turns.
            if args.ratio_rounds:
                await ratio_in_turns(pool, url, stub_url, worker_env, args)
    finally:
        await pool.close()

    # 1. The baseline, last so its jobs never share the queue with ours: Procrastinate as
    # shipped, and with the fetch planned on each call as migration 0022 has it for ours.
    stock = await stock_baseline(url, args.requests, args.concurrency, args.seconds, FETCH_AS_SHIPPED)
    print(f"stock Procrastinate, no-op jobs: {stock:.0f} jobs/s (concurrency {args.concurrency})")
    planned = await stock_baseline(url, args.requests, args.concurrency, args.seconds, FETCH_PLANNED_EACH_CALL)
    print(f"the same with its fetch planned on each call (migration 0022): {planned:.0f} jobs/s")
    print(f"ratio answered questions (best run) / stock no-op jobs: {ratio_to / stock:.2f}")


async def ratio_in_turns(
    pool: asyncpg.Pool, url: str, stub_url: str, worker_env: dict[str, str], args: argparse.Namespace
) -> None:
    """Phase 6: stock Procrastinate's no-op drain (its fetch as shipped) and one worker's
    drain of a new backlog (0 ms stub), adjacent in each round, in alternating order, each
    on an emptied queue (a drain leaves a title job for each of its new conversations,
    which slowed a stock drain after it by a fifth). The schema's fetch is put back as
    migrated after each stock drain."""
    ratios = []
    for n in range(args.ratio_rounds):
        rates: dict[str, float] = {}
        for side in ("stock", "answers") if n % 2 == 0 else ("answers", "stock"):
            await clear_queue(pool)  # the title jobs the last drain deferred, too
            # The dead rows of the rounds before gone, as autovacuum would have them in a
            # running deployment: this machine's Postgres runs without it (autovacuum =
            # off), and the drains, not the no-op jobs, paid for each round's leftovers.
            await pool.execute("VACUUM (ANALYZE)")
            if side == "stock":
                rates[side] = await stock_baseline(url, args.requests, args.concurrency, args.seconds, FETCH_AS_SHIPPED)
                await pool.execute(FETCH_PLANNED_EACH_CALL)
                continue
            httpx.post(stub_url + "/_reset")
            await submit_all(pool, await conversations(pool, args.requests))
            with process(["worker"], worker_env):
                await drain(pool, args.requests, args.seconds)
            rates[side] = (await completion_rate(pool))[1]
        ratios.append(rates["answers"] / rates["stock"])
        print(
            f"in turns, round {n + 1}: answered {rates['answers']:.0f}/s, stock {rates['stock']:.0f} jobs/s: "
            f"{ratios[-1]:.2f}",
            flush=True,
        )
    print(f"ratio answered questions / stock no-op jobs, in turns: mean {sum(ratios) / len(ratios):.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--slow-requests", type=int, default=1500)
    parser.add_argument("--pickup-requests", type=int, default=300)
    parser.add_argument("--pickup-rate", type=float, default=50)
    parser.add_argument(
        "--api-load",
        type=float,
        default=200,
        help="questions/s the API accepts from other users during the last pickup run (0: no such run)",
    )
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--held-requests", type=int, default=20, help="paid questions of phase 5 (0: no phase 5)")
    parser.add_argument("--held-rate", type=float, default=1, help="paid questions/s in phase 5")
    parser.add_argument("--held-latency", type=float, default=5, help="mean seconds of an LLM call in phase 5")
    parser.add_argument("--held-concurrency", type=int, default=50, help="the worker's slots in phase 5")
    parser.add_argument("--processes", type=int, default=2, help="worker processes of the extra 0 ms run")
    parser.add_argument("--seconds", type=float, default=25, help="time limit of each phase")
    parser.add_argument(
        "--ratio-rounds", type=int, default=4, help="rounds of phase 6: stock and answers in turns (0: none)"
    )
    args = parser.parse_args()
    with scratch_database("answer") as url:
        asyncio.run(main_async(args, url))


if __name__ == "__main__":
    main()
