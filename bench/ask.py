"""Benchmark of asking a question: POST /conversations/{id}/messages over HTTP against
`mukti api --workers 2`, and the same SQL function driven directly by pgbench.

    uv run python bench/ask.py [--users 2000] [--rate 1000] [--seconds 12] [--concurrency 64]

Phases, each on an emptied queue (so that each starts with the same queue depth):
  1. HTTP at a fixed offered rate (open loop: requests are sent on schedule whatever the
     answers; latency is measured from the scheduled send time, so a stall counts fully);
  2. HTTP saturated (closed loop, `--concurrency` requests in flight): accepted/s;
  3. pgbench running `SELECT mukti_submit_question_v1(...)` for the same duration.
Prints accepted/s, p50/p99 and the ratio HTTP/pgbench. Uses DATABASE_URL, or creates
(and afterwards drops) a scratch database on 127.0.0.1:5432. Load goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.cli import migrate  # noqa: E402
from api.security import issue_access_token  # noqa: E402
from api.settings import Settings  # noqa: E402

# Users and conversations get ids derived from their number, so pgbench can name them too.
USER_ID = "md5('u' || {n})::uuid"
CONVERSATION_ID = "md5('c' || {n})::uuid"
# The burst limit is anti-spam for one person; the bench's users ask on a schedule.
BURST_LIMIT = 1_000_000
BURST_WINDOW = 10
QUESTION = "What would have to be true for this to be false?"


@contextmanager
def scratch_database():
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    name = f"mukti_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def arrange(url: str, users: int) -> list[tuple[str, str]]:
    """A high-limit plan and `users` users with one conversation each: [(user_id, conversation_id)]."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO plans (id, name, per_hour, per_day, priority, model) "
                     "VALUES ('bench', 'Bench', 1000000, 1000000, 5, 'gpt-4o-mini') ON CONFLICT DO NOTHING")
        u, c = USER_ID.format(n="g"), CONVERSATION_ID.format(n="g")
        for sql in (f"INSERT INTO users (id, email) SELECT {u}, 'bench' || g || '@example.org' "
                    "FROM generate_series(1, %(n)s) g ON CONFLICT DO NOTHING",
                    f"INSERT INTO subscriptions (user_id, plan_id) SELECT {u}, 'bench' "
                    "FROM generate_series(1, %(n)s) g ON CONFLICT DO NOTHING",
                    f"INSERT INTO conversations (id, user_id) SELECT {c}, {u} "
                    "FROM generate_series(1, %(n)s) g ON CONFLICT DO NOTHING"):
            conn.execute(sql, {"n": users})
        return [(str(r[0]), str(r[1])) for r in conn.execute(
            f"SELECT {u}, {c} FROM generate_series(1, %(n)s) g ORDER BY g", {"n": users})]


def empty_queue(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in ("TRUNCATE request_queue, recent_messages, rate_limits, procrastinate_jobs CASCADE",
                    "UPDATE conversations SET message_count = 0, archived_count = 0",
                    "UPDATE subscriptions SET questions_this_hour = 0, questions_today = 0",
                    "VACUUM ANALYZE"):
            conn.execute(sql)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "MUKTI_BURST_LIMIT": str(BURST_LIMIT),
           "MUKTI_BURST_WINDOW": str(BURST_WINDOW)}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "api", "--workers", "2", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Load:
    def __init__(self, base: str, targets: list[tuple[str, dict[str, str]]]) -> None:
        self.base, self.targets, self.next = base, targets, 0
        self.statuses: dict[int | str, int] = {}
        self.latencies: list[float] = []

    async def one(self, http: httpx.AsyncClient, since: float) -> None:
        path, headers = self.targets[self.next % len(self.targets)]
        self.next += 1
        try:
            response = await http.post(self.base + path, json={"content": QUESTION}, headers=headers)
            key: int | str = response.status_code
        except httpx.HTTPError as exc:
            key = type(exc).__name__
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if key == 202:
            self.latencies.append(time.perf_counter() - since)

    def report(self, label: str, seconds: float) -> float:
        accepted = self.statuses.get(202, 0) / seconds
        print(f"{label}: accepted {accepted:,.0f}/s  p50 {percentile(self.latencies, 0.5) * 1000:.1f} ms  "
              f"p99 {percentile(self.latencies, 0.99) * 1000:.1f} ms  answers {self.statuses}")
        return accepted


async def fixed_rate(load: Load, rate: float, seconds: float, max_in_flight: int = 256) -> float:
    """Open loop; a request due while `max_in_flight` are outstanding is counted, not sent,
    so that an overloaded server shows as shed load instead of an ever-growing backlog."""
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=max_in_flight)) as http:
        tasks: set[asyncio.Task] = set()
        start, n = time.perf_counter(), int(rate * seconds)
        for i in range(n):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(tasks) >= max_in_flight:
                load.statuses["not sent"] = load.statuses.get("not sent", 0) + 1
                continue
            task = asyncio.create_task(load.one(http, at))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return load.report(f"HTTP, offered {rate:,.0f}/s for {seconds:.0f} s", elapsed)


async def saturated(load: Load, concurrency: int, seconds: float) -> float:
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=concurrency)) as http:
        start = time.perf_counter()
        stop = start + seconds

        async def loop() -> None:
            while (now := time.perf_counter()) < stop:
                await load.one(http, now)
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return load.report(f"HTTP, saturated ({concurrency} in flight) for {seconds:.0f} s", elapsed)


def pgbench(url: str, users: int, seconds: int, clients: int) -> float:
    script = (f"\\set n random(1, {users})\n"
              f"SELECT outcome FROM mukti_submit_question_v1({USER_ID.format(n=':n')}, "
              f"{CONVERSATION_ID.format(n=':n')}, '{QUESTION}', {BURST_LIMIT}, {BURST_WINDOW});\n")
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script)
        f.flush()
        out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds),
                              "-f", f.name, url], check=True, capture_output=True, text=True).stdout
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", out).group(1)
    print(f"pgbench, {clients} clients for {seconds} s: {tps:,.0f} calls/s  latency average {latency} ms")
    return tps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pgbench-clients", type=int, default=16)
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass

    with scratch_database() as url:
        pairs = arrange(url, args.users)
        settings = Settings.from_env()
        targets = [(f"/conversations/{c}/messages",
                    {"Authorization": f"Bearer {issue_access_token(settings, u, 'user', ttl=3600)}"})
                   for u, c in pairs]
        port = _free_port()
        api = start_api(url, port)
        try:
            base = f"http://127.0.0.1:{port}"
            print(f"{os.cpu_count()} CPUs, {args.users} users on a plan of 1,000,000/hour, "
                  f"`mukti api --workers 2` at {base}")
            empty_queue(url)
            asyncio.run(fixed_rate(Load(base, targets), args.rate, args.seconds))
            empty_queue(url)
            http = asyncio.run(saturated(Load(base, targets), args.concurrency, args.seconds))
        finally:
            api.terminate()
            api.wait(timeout=30)
        empty_queue(url)
        direct = pgbench(url, args.users, args.seconds, args.pgbench_clients)
        print(f"ratio HTTP saturated / pgbench: {http / direct:.2f}")


if __name__ == "__main__":
    main()
