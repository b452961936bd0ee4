"""Benchmark of asking a question: POST /conversations/{id}/messages over HTTP against
`mukti api --workers 2`, and the same SQL function driven directly by pgbench.

    uv run python bench/ask.py [--users 2000] [--rate R] [--seconds 10] [--concurrency 64]

Phases, each on an emptied queue (so that each starts with the same queue depth):
  1. HTTP saturated (closed loop, `--concurrency` connections): with `wrk` when it is
     installed (a Lua script sends each request with its user's token), else the Python
     client of phase 2, which says so, after WARM_UP seconds of it that are printed but
     not counted; it also prints the box's CPU per accepted question (/proc) and the API
     processes' part of it;
  2. HTTP at a fixed offered rate, `--rate` or else half of phase 1's figure (open loop:
     requests are sent on schedule whatever the answers; latency is measured from the
     scheduled send time, so a stall counts fully), from a lean keep-alive client written
     on asyncio streams (httpx costs more CPU per request than the server's route, on the
     same 2 cores), after WARM_UP seconds at that rate that are printed but not counted;
     it also prints when the slowest 1 % were sent (a burst is a stall of the whole
     server) and the stalls of the disk under the data directory over the same seconds
     (every commit waits for a WAL flush the device holds);
  3. pgbench running the submit SQL for the same duration, alternating `--rounds` times
     (each run printed with the box's CPU per call):
     the accept path as issue 18 found it (BASELINE, v3, with Procrastinate's per-row
     NOTIFY trigger that migration 0018 removed for questions), the same function on
     today's schema, and today's function (SUBMIT, the one the API calls); where the
     schema is today's, a side connection sends the API's coalesced wake-ups (one NOTIFY
     per MUKTI_WAKE_WINDOW per API process: `--wake-processes`); then today's function
     with as many pgbench clients as the API's two pools hold (2 x MUKTI_DB_POOL_MAX), the
     same concurrency inside Postgres as the HTTP phases had;
  4. HTTP direct saturated (as phase 1) and pgbench of SUBMIT (as phase 3), one after the
     other, `--turns` times, with the API up throughout: the ratio HTTP/pgbench of each
     turn and their mean, which a drift of the box's speed between phases 1 and 3 does
     not bend.
Phases 1 and 2 run for each way the API can reach the database: direct (asyncpg's
statement cache on, the default), direct with each question in a transaction of its own
(MUKTI_ACCEPT_BATCH_MAX=1: the accept batches off), direct with the cache off, and through a PgBouncer in
transaction mode (cache off, as docs/operations.md configures it) when `pgbouncer` is
installed (`--no-pgbouncer` skips it).
Prints accepted/s, p50/p99, the ratios HTTP/pgbench (of SUBMIT, at `--pgbench-clients`
and at the API's connection count) and the connection routes side by side, then the CPU
per question of pgbench and of HTTP direct (the API's part and the rest): with both
routes keeping the cores busy, their ratio bounds HTTP/pgbench (`--pgbench-only`: phase
3's runs of the four functions alone). Uses DATABASE_URL, or creates (and afterwards drops) a scratch database on 127.0.0.1:5432. Load goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.security import issue_access_token  # noqa: E402
from bench.common import (  # noqa: E402
    COALESCED,
    PER_ROW_NOTIFY,
    DiskStalls,
    box_cpu_seconds,
    box_speed,
    children,
    free_port,
    process_cpu_seconds,
    scratch_database,
)
from core.database.queries import QUERIES  # noqa: E402
from core.heap import freeze_startup_heap  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.servers import PgBouncer, pgbouncer_binary  # noqa: E402

# Users and conversations get ids derived from their number, so pgbench can name them too.
USER_ID = "md5('u' || {n})::uuid"
CONVERSATION_ID = "md5('c' || {n})::uuid"
# The burst limit is anti-spam for one person; the bench's users ask on a schedule.
BURST_LIMIT = 1_000_000
BURST_WINDOW = 10
QUESTION = "What would have to be true for this to be false?"
WARM_UP = 2  # seconds at the offered rate before phase 2 counts
BURST_GAP = 0.25  # s between two of the slowest requests' sends that part two bursts
# The function the API calls (db/sql/queries/conversations.sql), the one it replaced, and
# the one issue 18 found.
SUBMIT = "mukti_submit_question_v7"
PREVIOUS = "mukti_submit_question_v5"
BASELINE = "mukti_submit_question_v3"


def arrange(url: str, users: int) -> list[tuple[str, str]]:
    """A high-limit plan and `users` users with one conversation each: [(user_id, conversation_id)]."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO plans (id, name, per_hour, per_day, priority, model) "
            "VALUES ('bench', 'Bench', 1000000, 1000000, 5, 'gpt-4o-mini') ON CONFLICT DO NOTHING"
        )
        u, c = USER_ID.format(n="g"), CONVERSATION_ID.format(n="g")
        for sql in (
            f"INSERT INTO users (id, email) SELECT {u}, 'bench' || g || '@example.org' "
            "FROM generate_series(1, %(n)s) g ON CONFLICT DO NOTHING",
            f"INSERT INTO subscriptions (user_id, plan_id) SELECT {u}, 'bench' "
            "FROM generate_series(1, %(n)s) g ON CONFLICT DO NOTHING",
            f"INSERT INTO conversations (id, user_id) SELECT {c}, {u} "
            "FROM generate_series(1, %(n)s) g ON CONFLICT DO NOTHING",
        ):
            conn.execute(sql, {"n": users})
        return [
            (str(r[0]), str(r[1]))
            for r in conn.execute(f"SELECT {u}, {c} FROM generate_series(1, %(n)s) g ORDER BY g", {"n": users})
        ]


def ask_targets(settings: Settings, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(path, token) of a question in each (user, conversation) pair, as the clients send them."""
    return [(f"/conversations/{c}/messages", issue_access_token(settings, u, "user", ttl=3600)) for u, c in pairs]


def empty_queue(url: str) -> None:
    """No questions, no hits, every conversation and subscription back to zero: in one
    transaction, so that a request the API still answers from the last phase waits for
    it and then finds a consistent state (it can also deadlock with the TRUNCATE, which
    is then tried again)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for attempt in range(20):
            try:
                with conn.transaction():
                    conn.execute("TRUNCATE request_queue, recent_messages, rate_limits, procrastinate_jobs CASCADE")
                    conn.execute("UPDATE conversations SET message_count = 0, archived_count = 0")
                    conn.execute("UPDATE subscriptions SET questions_this_hour = 0, questions_today = 0")
                break
            except psycopg.errors.DeadlockDetected:
                if attempt == 19:
                    raise
                time.sleep(0.1)
        conn.execute("VACUUM ANALYZE")


def start_api(url: str, port: int, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MUKTI_BURST_LIMIT": str(BURST_LIMIT),
        "MUKTI_BURST_WINDOW": str(BURST_WINDOW),
        **extra,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "api", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = 0
    for line in proc.stderr:  # both workers report their lifespan done
        started += "Application startup complete" in line
        if started == 2:
            break
    else:
        raise SystemExit("the API did not start")
    # Keep reading its log so that a chatty process never blocks on a full pipe.
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc


def accept_batches(url: str) -> tuple[float, float]:
    """(batches, questions in them) the API's processes have counted so far (core/metrics.py)."""
    totals: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, _labels, value in conn.execute(QUERIES["metrics_totals"].sql):
            totals[name] = totals.get(name, 0.0) + float(value)
    return totals.get("mukti_accept_batches_total", 0.0), totals.get("mukti_accept_batched_questions_total", 0.0)


def wal_flushes(url: str) -> int:
    """WAL flushes of the server so far (pg_stat_wal: commits that wrote wait for one; many
    commits in flight at once share one)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()
        return int(row[0]) if row else 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Client:
    """Prebuilt HTTP/1.1 requests over a pool of keep-alive connections; nothing else."""

    # uvicorn closes a connection idle for 5 s: one idle longer is not reused.
    MAX_IDLE = 4.0

    def __init__(self, port: int, targets: list[tuple[str, str]], max_connections: int) -> None:
        body = json.dumps({"content": QUESTION}).encode()
        self.requests = [
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
            for path, token in targets
        ]
        self.port, self.max_connections, self.next = port, max_connections, 0
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.statuses: dict[int | str, int] = {}
        self.latencies: list[float] = []
        self.sent: list[float] = []  # when each of `latencies` was due to be sent

    async def one(self, since: float) -> None:
        request = self.requests[self.next % len(self.requests)]
        self.next += 1
        while self.idle and self.idle[-1][2] < time.perf_counter() - self.MAX_IDLE:
            self.idle.pop()[1].close()
        if self.idle:
            reader, writer, _ = self.idle.pop()
        else:
            self.opened += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
            await reader.readexactly(length)
            key: int | str = int(head[9:12])
        except (OSError, asyncio.IncompleteReadError) as exc:
            writer.close()
            key = type(exc).__name__
        else:
            self.idle.append((reader, writer, time.perf_counter()))
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if key == 202:
            self.latencies.append(time.perf_counter() - since)
            self.sent.append(since)

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()

    def count_afresh(self) -> None:
        """Counters back to zero, the connections kept (after a warm-up)."""
        self.statuses, self.latencies, self.sent, self.opened = {}, [], [], 0

    def report(self, label: str, seconds: float) -> float:
        return report(
            label,
            self.statuses.get(202, 0) / seconds,
            percentile(self.latencies, 0.5) * 1000,
            percentile(self.latencies, 0.99) * 1000,
            self.statuses,
        )


def report(label: str, accepted: float, p50_ms: float, p99_ms: float, statuses: dict) -> float:
    print(f"{label}: accepted {accepted:,.0f}/s  p50 {p50_ms:.1f} ms  p99 {p99_ms:.1f} ms  answers {statuses}")
    return accepted


def tail_bursts(client: Client, since: float) -> str:
    """When the slowest 1 % were sent, in words: a few tight bursts are a stall of the whole
    server (each request in flight waits it out), a spread a cost of the requests themselves."""
    threshold = percentile(client.latencies, 0.99)
    slow = sorted(at for at, latency in zip(client.sent, client.latencies, strict=True) if latency >= threshold)
    if not slow:
        return "no requests"
    bursts = [[slow[0], slow[0], 1]]
    for at in slow[1:]:
        if at - bursts[-1][1] > BURST_GAP:
            bursts.append([at, at, 0])
        bursts[-1][1:] = [at, bursts[-1][2] + 1]
    first, last, count = max(bursts, key=lambda burst: burst[2])
    return (
        f"the slowest 1 % ({len(slow)}, {threshold * 1000:.0f} ms or more) were sent in {len(bursts)} burst(s) "
        f"{BURST_GAP * 1000:.0f} ms apart or more; the largest: {count} within {(last - first) * 1000:.0f} ms "
        f"from {first - since:.2f} s"
    )


async def fixed_rate(
    client: Client,
    rate: float,
    seconds: float,
    label: str = "HTTP",
    close: bool = True,
    disk: DiskStalls | None = None,
) -> tuple[float, float]:
    """Open loop; a request due while all `max_connections` are busy is counted, not sent,
    so that an overloaded server shows as shed load instead of an ever-growing backlog.
    Prints `label`, the offered rate, accepted/s, p50/p99 and the answers by status; with
    `disk`, when the slowest 1 % were sent and the disk's stalls over the same time."""
    tasks: set[asyncio.Task] = set()
    start, n = time.perf_counter(), int(rate * seconds)
    for i in range(n):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) >= client.max_connections:
            client.statuses["not sent"] = client.statuses.get("not sent", 0) + 1
            continue
        task = asyncio.create_task(client.one(at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    if close:
        client.close()
    accepted = client.report(
        f"{label}, offered {rate:,.0f}/s for {seconds:.0f} s ({client.opened} connections opened)",
        time.perf_counter() - start,
    )
    if disk is not None:
        print(f"  {tail_bursts(client, start)}; {disk.report(start)}")
    return accepted, percentile(client.latencies, 0.99) * 1000


async def fixed_rate_warmed(client: Client, rate: float, seconds: float, disk: DiskStalls) -> tuple[float, float]:
    """fixed_rate after WARM_UP seconds of it (printed, not counted) on the same connections.
    Not counted: after the TRUNCATE every server connection of the API plans its statements
    anew, and the client opens its connections (p99 of ~0.7 s here). The same connections:
    until 4 December (late night) the measured run opened its own, 26-98 of them at
    ~1,100/s, and in one of four runs of that kind nearly all of its slowest 1 % were sent
    within 0.4 s of its start, while they opened."""
    await fixed_rate(client, rate, WARM_UP, "warm-up (not counted)", close=False)
    client.count_afresh()
    return await fixed_rate(client, rate, seconds, disk=disk)


async def saturated_python(client: Client, seconds: float, note: str = "") -> float:
    start = time.perf_counter()
    stop = start + seconds

    async def loop() -> None:
        while (now := time.perf_counter()) < stop:
            await client.one(now)

    await asyncio.gather(*(loop() for _ in range(client.max_connections)))
    client.close()
    return client.report(
        f"HTTP, saturated ({client.max_connections} in flight, Python client: wrk is not "
        f"installed) for {seconds:.0f} s{note}",
        time.perf_counter() - start,
    )


# Each wrk thread cycles through the targets file (path, token per line) from its own offset.
WRK_SCRIPT = """
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args)
  targets = {}
  for line in io.lines(args[1]) do
    local path, token = line:match("([^ ]+) ([^ ]+)")
    table.insert(targets, {path, "Bearer " .. token})
  end
  n = id * 7919
  statuses = {}
end
function request()
  n = n + 1
  local t = targets[n % #targets + 1]
  return wrk.format("POST", t[1], {["Authorization"] = t[2], ["Content-Type"] = "application/json"}, BODY)
end
function response(status) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do all[status] = (all[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(all) do table.insert(parts, '"' .. status .. '": ' .. count) end
  io.write(string.format('RESULT {"seconds": %f, "p50_us": %d, "p99_us": %d, "statuses": {%s}, "errors": %d}\\n',
    summary.duration / 1e6, latency:percentile(50), latency:percentile(99), table.concat(parts, ", "),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
"""


def saturated_wrk(
    wrk: str, port: int, targets: list[tuple[str, str]], connections: int, seconds: int, note: str = ""
) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        script, targets_file = Path(tmp, "ask.lua"), Path(tmp, "targets.txt")
        script.write_text(f"BODY = {json.dumps(json.dumps({'content': QUESTION}))}\n" + WRK_SCRIPT)
        targets_file.write_text("".join(f"{path} {token}\n" for path, token in targets))
        out = subprocess.run(
            [
                wrk,
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
                "--",
                str(targets_file),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    result = json.loads(out.split("RESULT ", 1)[1])
    statuses = {int(k): v for k, v in result["statuses"].items()} | (
        {"socket errors": result["errors"]} if result["errors"] else {}
    )
    return report(
        f"HTTP, saturated (wrk, {connections} connections) for {seconds} s{note}",
        statuses.get(202, 0) / result["seconds"],
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
        statuses,
    )


def pgbench(
    url: str,
    users: int,
    seconds: int,
    clients: int,
    function: str = SUBMIT,
    label: str = "",
    cpu: list[float] | None = None,
) -> float:
    """Calls/s of `function` under pgbench; prints them with the box's CPU per call
    (Postgres, pgbench and whatever else ran: the box is meant to be quiet), which is
    also appended to `cpu` (ms)."""
    script = (
        f"\\set n random(1, {users})\n"
        f"SELECT outcome FROM {function}({USER_ID.format(n=':n')}, "
        f"{CONVERSATION_ID.format(n=':n')}, '{QUESTION}', {BURST_LIMIT}, {BURST_WINDOW});\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script)
        f.flush()
        busy = box_cpu_seconds()
        run = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", f.name, url],
            capture_output=True,
            text=True,
        )
        busy = box_cpu_seconds() - busy
    if run.returncode != 0:
        raise SystemExit(f"pgbench {label or function} failed:\n{run.stderr}")
    out = run.stdout
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", out).group(1)
    calls = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    ms_per_call = 1000 * busy / max(calls, 1)
    if cpu is not None:
        cpu.append(ms_per_call)
    print(
        f"pgbench {label or function}, {clients} clients for {seconds} s: {tps:,.0f} calls/s  latency average "
        f"{latency} ms  box CPU {ms_per_call:.2f} ms a call"
    )
    return tps


def wake_ups(url: str, interval: float, stop: threading.Event) -> None:
    """The API's coalesced NOTIFYs at their saturated rate (core/database/wake.py)."""
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.wait(interval):
            conn.execute(QUERIES["jobs_wake_workers"].sql)


# (label, function, Procrastinate's job-inserted trigger): the accept path as issue 18
# found it, the same function on today's schema, the previous function and today's.
VARIANTS = (
    (f"{BASELINE}, per-row NOTIFY (as filed)", BASELINE, PER_ROW_NOTIFY),
    (f"{BASELINE}, coalesced wake-ups", BASELINE, COALESCED),
    (f"{PREVIOUS}, coalesced wake-ups", PREVIOUS, COALESCED),
    (f"{SUBMIT}, coalesced wake-ups", SUBMIT, COALESCED),
)


def pgbench_variant(
    url: str,
    args: argparse.Namespace,
    label: str,
    function: str,
    trigger: str,
    seconds: int | None = None,
    cpu: list[float] | None = None,
    clients: int | None = None,
) -> float:
    """pgbench of `function` on an emptied queue with Procrastinate's job-inserted
    `trigger`; with the coalesced one, the API's wake-ups run beside it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(trigger)
    empty_queue(url)
    stop = threading.Event()
    notifier = threading.Thread(
        target=wake_ups, args=(url, Settings.from_env().wake_window / args.wake_processes, stop)
    )
    if trigger is COALESCED:
        notifier.start()
    try:
        return pgbench(url, args.users, seconds or args.seconds, clients or args.pgbench_clients, function, label, cpu)
    finally:
        stop.set()
        if notifier.is_alive():
            notifier.join()


def pgbench_versions(url: str, args: argparse.Namespace) -> tuple[float, float]:
    """Each of VARIANTS in turn, `args.rounds` times; prints the means and ratios, returns
    SUBMIT's mean calls/s and the box's mean CPU per call of it in ms (the schema is left
    as today's)."""
    interval = Settings.from_env().wake_window / args.wake_processes
    print(f"(coalesced wake-ups: 1 NOTIFY per {interval * 1000:.1f} ms)")
    rates: dict[str, list[float]] = {label: [] for label, _, _ in VARIANTS}
    cpu: dict[str, list[float]] = {label: [] for label, _, _ in VARIANTS}
    # Not counted: the first run on a new database also pays for its first reads.
    pgbench_variant(url, args, "(warm-up, not counted)", SUBMIT, COALESCED, seconds=3)
    for _ in range(args.rounds):
        for label, function, trigger in VARIANTS:
            rates[label].append(pgbench_variant(url, args, label, function, trigger, cpu=cpu[label]))
    means = {label: sum(r) / len(r) for label, r in rates.items()}
    today = means[VARIANTS[-1][0]]
    for label, mean in means.items():
        print(f"pgbench mean {label:<58} {mean:>7,.0f}/s   today's / this: {today / mean:.2f}x")
    today_cpu = cpu[VARIANTS[-1][0]]
    return today, sum(today_cpu) / len(today_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rate", type=float, help="offered rate of phase 2 (default: half the saturated rate)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pgbench-clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="pgbench rounds of each function, alternating")
    parser.add_argument("--wake-processes", type=int, default=2, help="API processes sending wake-ups")
    parser.add_argument("--pgbench-only", action="store_true", help="only the pgbench phase")
    parser.add_argument(
        "--turns", type=int, default=3, help="rounds of HTTP direct and pgbench in turns (phase 4; 0: none)"
    )
    parser.add_argument(
        "--no-pgbouncer",
        dest="pgbouncer",
        action="store_false",
        help="skip the route through a PgBouncer started by the benchmark",
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    with scratch_database("ask") as url:
        pairs = arrange(url, args.users)
        if args.pgbench_only:
            pgbench_versions(url, args)
            return
        settings = Settings.from_env()
        targets = ask_targets(settings, pairs)
        # The load generator's own garbage collections must not count as the server's latency.
        freeze_startup_heap()
        print(f"{box_speed()}; {args.users} users on a plan of 1,000,000/hour, `mukti api --workers 2`")
        routes = [
            ("direct", url, {}),
            # The accept batches off (api/conversations/batches.py): what they add, side by side.
            ("direct, one per transaction", url, {"MUKTI_ACCEPT_BATCH_MAX": "1"}),
            ("direct, statement cache off", url, {"MUKTI_DB_STATEMENT_CACHE_SIZE": "0"}),
        ]
        bouncer = None
        if args.pgbouncer and pgbouncer_binary():
            server = urlparse(url)
            bouncer = PgBouncer(
                server.hostname or "127.0.0.1", server.port or 5432, server.username or "postgres", server.password
            )
            routes.append(
                (
                    "PgBouncer (transaction mode)",
                    bouncer.url(server.path.lstrip("/")),
                    {"MUKTI_DIRECT_DATABASE_URL": url, "MUKTI_DB_STATEMENT_CACHE_SIZE": "0"},
                )
            )
        elif args.pgbouncer:
            print("pgbouncer is not installed (apt-get install pgbouncer): the pooled route is skipped")
        results: dict[str, HttpFigures] = {}
        try:
            for label, api_url, env in routes:
                print(f"-- the API's pool: {label}")
                results[label] = http_phases(url, api_url, env, targets, args)
        finally:
            if bouncer is not None:
                bouncer.stop()
        direct, pgbench_cpu = pgbench_versions(url, args)
        turns = in_turns(url, targets, args) if args.turns else []
        # pgbench with as many connections as the API's pools hold (2 processes): the same
        # SQL with the same concurrency inside Postgres, which does the most per core with
        # few busy backends (docs/operations.md, "Sizing the pools").
        api_connections = 2 * settings.db_pool_max
        matched = [
            pgbench_variant(
                url,
                args,
                f"{SUBMIT}, the API's {api_connections} connections",
                SUBMIT,
                COALESCED,
                clients=api_connections,
            )
            for _ in range(args.rounds)
        ]
        same_connections = sum(matched) / len(matched)
        print(f"pgbench mean {SUBMIT} with {api_connections} clients: {same_connections:,.0f}/s")
        baseline = results["direct"]
        print(
            f"\n{'the API reaches Postgres':<30}{'saturated':>12}{'vs direct':>11}{'vs pgbench':>12}"
            f"{'vs same conn.':>15}{'offered':>10}{'accepted':>10}{'p99':>11}"
        )
        for label, route in results.items():
            saturated = route.saturated
            print(
                f"{label:<30}{saturated:>10,.0f}/s{saturated / baseline.saturated:>11.2f}{saturated / direct:>12.2f}"
                f"{saturated / same_connections:>15.2f}{route.rate:>8,.0f}/s{route.fixed:>8,.0f}/s{route.p99:>8.1f} ms"
            )
        print(
            f"(vs pgbench: {args.pgbench_clients} pgbench clients; vs same conn.: {api_connections}, "
            "the API's pools together)"
        )
        # Both routes keep the box's cores busy: their ratio of throughput is about the
        # inverse of their CPU per question, which says what the HTTP route adds.
        box_ms, api_ms = baseline.box_ms, baseline.api_ms
        print(
            f"CPU per question (the box): pgbench {pgbench_cpu:.2f} ms; HTTP direct {box_ms:.2f} ms, of which the "
            f"API processes {api_ms:.2f} ms and the rest (Postgres, wrk) {box_ms - api_ms:.2f} ms: "
            f"pgbench / HTTP {pgbench_cpu / box_ms:.2f}"
        )
        if turns:
            print(
                f"HTTP direct / pgbench of {SUBMIT} ({args.pgbench_clients} clients), in turns: "
                + ", ".join(f"{ratio:.2f}" for ratio in turns)
                + f", mean {sum(turns) / len(turns):.2f}"
            )


class HttpFigures(NamedTuple):
    """Phases 1 and 2 on one route."""

    saturated: float  # accepted/s
    rate: float  # offered in phase 2, /s
    fixed: float  # accepted/s at that rate
    p99: float  # ms, at that rate
    box_ms: float  # the box's CPU per accepted question while saturated
    api_ms: float  # the API processes' part of it


def saturate(
    port: int, targets: list[tuple[str, str]], args: argparse.Namespace, seconds: int, note: str = ""
) -> float:
    """Phase 1's closed loop: with `wrk` where it is installed, else the Python client."""
    wrk = shutil.which("wrk")
    if wrk:
        return saturated_wrk(wrk, port, targets, args.concurrency, seconds, note)
    return asyncio.run(saturated_python(Client(port, targets, args.concurrency), seconds, note))


def in_turns(url: str, targets: list[tuple[str, str]], args: argparse.Namespace) -> list[float]:
    """HTTP direct saturated and pgbench of SUBMIT, one after the other `--turns` times,
    the API up throughout (idle while pgbench runs): a drift of the box's speed, which on
    these machines moves by a fifth within minutes, weighs on both sides of each ratio."""
    print("-- HTTP direct and pgbench in turns")
    port = free_port()
    api = start_api(url, port)
    ratios = []
    try:
        saturate(port, targets, args, WARM_UP, " (warm-up, not counted)")
        for turn in range(1, args.turns + 1):
            empty_queue(url)
            http = saturate(port, targets, args, args.seconds, f", turn {turn}")
            sql = pgbench_variant(url, args, f"{SUBMIT}, turn {turn}", SUBMIT, COALESCED)
            ratios.append(http / sql)
    finally:
        api.terminate()
        api.wait(timeout=30)
    return ratios


def http_phases(
    url: str, api_url: str, env: dict[str, str], targets: list[tuple[str, str]], args: argparse.Namespace
) -> HttpFigures:
    """Phases 1 and 2 against an API whose pool reaches the database at `api_url`."""
    port = free_port()
    batches_before = accept_batches(url)
    api = start_api(api_url, port, **env)
    try:
        # Not counted, as pgbench's first run is not: the API's processes and connections
        # start cold (first requests, the pool growing to its size, statements prepared).
        saturate(port, targets, args, WARM_UP, " (warm-up, not counted)")
        empty_queue(url)
        servers = children(api.pid)
        busy, api_busy, flushes = box_cpu_seconds(), process_cpu_seconds(servers), wal_flushes(url)
        saturated = saturate(port, targets, args, args.seconds)
        accepted = max(saturated * args.seconds, 1)
        box_ms = 1000 * (box_cpu_seconds() - busy) / accepted
        api_ms = 1000 * (process_cpu_seconds(servers) - api_busy) / accepted
        flushed = (wal_flushes(url) - flushes) / accepted
        print(
            f"CPU per accepted question while saturated: the box {box_ms:.2f} ms, the API processes {api_ms:.2f} ms; "
            f"WAL flushes per accepted question {flushed:.2f}"
        )
        empty_queue(url)
        rate = args.rate or saturated / 2
        with DiskStalls(url) as disk:
            fixed, p99 = asyncio.run(
                fixed_rate_warmed(Client(port, targets, max_connections=256), rate, args.seconds, disk)
            )
    finally:
        api.terminate()
        api.wait(timeout=30)
    # The API's processes flush their counters as they stop (db/metrics_store.py).
    batches, in_batches = (after - before for after, before in zip(accept_batches(url), batches_before, strict=True))
    print(
        f"accept batches over these phases: {batches:,.0f}, of {in_batches / max(batches, 1):.1f} questions on average "
        f"({in_batches:,.0f} questions in them, warm-ups included)"
    )
    return HttpFigures(saturated, rate, fixed, p99, box_ms, api_ms)


if __name__ == "__main__":
    main()
