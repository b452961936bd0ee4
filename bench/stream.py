"""Benchmark of live answers: streamed replies relayed through Postgres to SSE clients.

    uv run python bench/stream.py [--streams 1000] [--tps 20] [--repeat 10] [--ask-seconds 5]

One API process holds `--streams` concurrent SSE streams (the streaming form of
POST /conversations/{id}/messages) while the offline stub streams `--tps` tokens a second
for each reply and two `mukti worker` processes relay them. Printed side by side:
  - completed and matching streams (the client's text equals the stored reply);
  - memory per stream (RSS of the API process at the peak minus idle, per stream) and its CPU;
  - the relay's added latency: the client's first delta minus the moment the stub sent the
    first token of that reply, p50 and p99 (goals: 20 ms and 100 ms);
  - the database cost of a streamed reply: relay statements (mukti_stream_append_v1
    calls, each shared by all replies streaming in a worker at that moment), piece rows
    and NOTIFY payloads per reply (the bench LISTENs on the channel and counts them);
  - accepted questions/s (202 form, a second API process, `--ask-clients` closed-loop
    clients) while at least `--busy` (500) streams are generating, divided by the same with
    none (goal >= 0.8).
Uses DATABASE_URL, or creates (and afterwards drops) a scratch database on 127.0.0.1:5432.
The stub, the API processes and the workers are processes of their own, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import asyncpg
import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.security import issue_access_token  # noqa: E402
from bench.common import free_port, process_cpu_seconds, scratch_database, wait_http  # noqa: E402
from core.settings import Settings  # noqa: E402
from db.stream_channel import CHANNEL  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def serve_stub(port: int) -> None:
    """The stub with its call log on (first-token times), in the foreground."""
    import uvicorn

    from core.llm.stub import StubApp

    uvicorn.run(StubApp(record_calls=True), host="127.0.0.1", port=port, log_level="warning", backlog=4096)


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def start_api(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "MUKTI_BURST_LIMIT": "1000000", "MUKTI_DB_POOL_MAX": "20"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "api", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stderr:
        if "Uvicorn running on" in line:
            break
    else:
        raise SystemExit("the API did not start")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc


def arrange(url: str, n: int, prefix: str, plan: str = "bench") -> list[tuple[str, str, str]]:
    """n users on a high-limit plan, one conversation each: [(user_id, conversation_id, token)].
    Plan `bench_ask` has the lowest priority: its questions wait while the streams run."""
    settings = Settings()
    u, c = f"md5('{prefix}u' || g)::uuid", f"md5('{prefix}c' || g)::uuid"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO plans (id, name, per_hour, per_day, priority, model) "
            "VALUES ('bench', 'Bench', 1000000, 1000000, 5, 'gpt-4o-mini'), "
            "('bench_ask', 'Bench asks', 1000000, 1000000, 0, 'gpt-4o-mini') ON CONFLICT DO NOTHING"
        )
        for sql in (
            f"INSERT INTO users (id, email) SELECT {u}, '{prefix}' || g || '@example.org' "
            "FROM generate_series(1, %(n)s) g",
            f"INSERT INTO subscriptions (user_id, plan_id) SELECT {u}, '{plan}' FROM generate_series(1, %(n)s) g",
            f"INSERT INTO conversations (id, user_id) SELECT {c}, {u} FROM generate_series(1, %(n)s) g",
        ):
            conn.execute(sql, {"n": n})
        rows = conn.execute(f"SELECT {u}::text, {c}::text FROM generate_series(1, %(n)s) g ORDER BY g", {"n": n})
        return [(user, conv, issue_access_token(settings, user, "user")) for user, conv in rows]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def stream_one(port: int, token: str, conversation_id: str, question: str) -> dict:
    """One streaming ask on a raw connection (a lean client: 1,000 of them share the bench's core)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    body = json.dumps({"content": question}).encode()
    writer.write(
        f"POST /conversations/{conversation_id}/messages HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    result: dict = {"question": question, "text": "", "first": None, "end": None, "request_id": None, "status": 0}
    try:
        result["status"] = int((await reader.readline()).split()[1])
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        buffer = b""
        while result["end"] is None:
            size_line = await reader.readline()
            if not size_line or int(size_line.strip() or b"0", 16) == 0:
                break
            buffer += (await reader.readexactly(int(size_line.strip(), 16) + 2))[:-2]
            while b"\r\n\r\n" in buffer:
                raw, buffer = buffer.split(b"\r\n\r\n", 1)
                fields = dict(line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line)
                kind, data = fields.get("event"), json.loads(fields.get("data") or "null")
                if kind == "accepted":
                    result["request_id"] = data["request_id"]
                elif kind == "delta":
                    result["first"] = result["first"] or time.time()
                    result["text"] += data["text"]
                elif kind == "reset":
                    result["text"] = ""
                elif kind in ("done", "failed", "cancelled"):
                    result["end"] = kind
    finally:
        writer.close()
    return result


async def accepted_per_second(port: int, askers: list[tuple[str, str, str]], clients: int, seconds: float) -> float:
    accepted = 0
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=30, limits=httpx.Limits(max_connections=clients)
    ) as http:

        async def loop(i: int) -> None:
            nonlocal accepted
            n = i
            while time.monotonic() < deadline:
                _, conversation, token = askers[n % len(askers)]
                response = await http.post(
                    f"/conversations/{conversation}/messages",
                    json={"content": "Why?"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                accepted += response.status_code == 202
                n += clients

        started = time.monotonic()
        await asyncio.gather(*(loop(i) for i in range(clients)))
    return accepted / (time.monotonic() - started)


def askers_of(url: str, n: int = 200) -> list[tuple[str, str, str]]:
    """The users `arrange(url, n, "a")` made, with fresh tokens."""
    settings = Settings()
    u, c = "md5('au' || g)::uuid", "md5('ac' || g)::uuid"
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT {u}::text, {c}::text FROM generate_series(1, %(n)s) g", {"n": n}).fetchall()
    return [(user, conv, issue_access_token(settings, user, "user")) for user, conv in rows]


async def ask_load(url: str, port: int, clients: int, seconds: float) -> float:
    """accepted/s measured by a process of its own: the 1,000 stream readers of this one
    must not slow the asking clients down."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).resolve()),
        "--ask-load",
        str(port),
        "--ask-clients",
        str(clients),
        "--ask-seconds",
        str(seconds),
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return float(out.decode().strip().splitlines()[-1])


async def db_counters(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        calls = await conn.fetchval(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = 'mukti_stream_append_v1'"
        )
        rows = await conn.fetchval("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'request_stream_chunks'")
        return {"append_calls": int(calls), "piece_rows": int(rows or 0)}
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace, url: str) -> None:
    streamers = arrange(url, args.streams, "s")
    arrange(url, 200, "a", plan="bench_ask")  # the askers (askers_of)
    stub_port, stream_port, ask_port = free_port(), free_port(), free_port()
    procs = [spawn([sys.executable, str(Path(__file__).resolve()), "--serve-stub", str(stub_port)], {})]
    stub = f"http://127.0.0.1:{stub_port}"
    try:
        wait_http(stub + "/v1/models")
        api, ask_api = start_api(url, stream_port), start_api(url, ask_port)
        procs += [api, ask_api]

        # Accepting with no stream anywhere (the questions wait: no worker runs yet), then
        # those questions are dropped so that they do not add streams later.
        idle_rate = await ask_load(url, ask_port, args.ask_clients, args.ask_seconds)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM procrastinate_jobs")
            conn.execute("UPDATE request_queue SET status = 'cancelled', completed_at = now() WHERE status = 'pending'")

        httpx.post(stub + "/_control", json={"tokens_per_second": args.tps, "reply_repeat": args.repeat})
        worker_env = {
            "DATABASE_URL": url,
            "LLM_BASE_URL": stub + "/v1",
            # Exactly the streams: the askers' questions (lowest priority) wait until the end.
            "MUKTI_WORKER_CONCURRENCY": str(-(-args.streams // 2)),
        }
        procs += [spawn([sys.executable, "-m", "cli", "worker"], worker_env) for _ in range(2)]

        listener = await asyncpg.connect(url)
        notified = {"payloads": 0, "pieces": 0, "states": 0}
        first_notified: dict[str, float] = {}

        def count(_conn, _pid, _channel, payload: str) -> None:
            items = json.loads(payload)
            for item in items:
                if item[1] == "d" and item[3] == 0:
                    first_notified.setdefault(item[0], time.time())
            notified["payloads"] += 1
            notified["pieces"] += sum(1 for i in items if i[1] == "d")
            notified["states"] += sum(1 for i in items if i[1] == "s")

        await listener.add_listener(CHANNEL, count)
        before = await db_counters(url)
        idle_rss, cpu_start, wall_start = rss_kib(api.pid), process_cpu_seconds([api.pid]), time.monotonic()

        tasks = [
            asyncio.create_task(stream_one(stream_port, token, conversation, f"Q{i}: what makes a life good?"))
            for i, (_, conversation, token) in enumerate(streamers)
        ]
        peak_rss, busy_rate, busy_streams = idle_rss, None, 0
        while not all(t.done() for t in tasks):
            await asyncio.sleep(0.5)
            peak_rss = max(peak_rss, rss_kib(api.pid))
            stats = await asyncio.to_thread(httpx.get, stub + "/_stats?calls=0")
            generating = stats.json()["in_flight"]
            if busy_rate is None and generating >= args.busy:
                busy_streams = generating
                busy_rate = await ask_load(url, ask_port, args.ask_clients, args.ask_seconds)
        wall = time.monotonic() - wall_start
        cpu = process_cpu_seconds([api.pid]) - cpu_start
        results = [t.result() for t in tasks]
        after = await db_counters(url)
        await listener.close()

        calls_stats = httpx.get(stub + "/_stats").json()
        calls = {c["content"]: c for c in calls_stats["calls"]}
        # Where the time goes: stub -> worker -> database -> NOTIFY (this process hears it as the
        # API processes do), then NOTIFY -> API process -> client.
        to_notify = [
            (first_notified[r["request_id"]] - calls[r["question"]]["first_token"]) * 1000
            for r in results
            if r["request_id"] in first_notified and calls.get(r["question"], {}).get("first_token")
        ]
        to_client = [
            (r["first"] - first_notified[r["request_id"]]) * 1000
            for r in results
            if r["first"] and r["request_id"] in first_notified
        ]
        latencies = [
            (r["first"] - calls[r["question"]]["first_token"]) * 1000
            for r in results
            if r["first"] and calls.get(r["question"], {}).get("first_token")
        ]
        with psycopg.connect(url) as conn:
            stored: dict[str, str] = dict(
                conn.execute(
                    "SELECT request_id::text, content FROM recent_messages "
                    "WHERE role = 'assistant' AND request_id = ANY(%s::uuid[])",
                    ([r["request_id"] for r in results if r["request_id"]],),
                ).fetchall()
            )
        matched = len([r for r in results if r["end"] == "done" and stored.get(r["request_id"]) == r["text"]])
        replies = sum(1 for r in results if r["end"] == "done")
        max_generating = calls_stats["max_in_flight"]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    per = max(replies, 1)
    print(
        f"streams: {args.streams} at {args.tps} tokens/s each (stub replies x{args.repeat}); "
        f"at most {max_generating} generating at once; {wall:.1f} s"
    )
    print(f"  completed {replies}/{args.streams}, text equal to the stored reply {matched}/{args.streams}")
    print(
        f"  API process: RSS idle {idle_rss / 1024:.0f} MiB, peak {peak_rss / 1024:.0f} MiB, "
        f"{(peak_rss - idle_rss) / args.streams:.1f} KiB per stream; CPU {cpu:.1f} s in {wall:.1f} s "
        f"= {cpu / wall:.2f} cores"
    )
    print(
        f"  relay added latency (client first delta - stub first token): p50 {percentile(latencies, 50):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms (goals 20 / 100) over {len(latencies)} replies"
    )
    print(
        f"    of which stub -> worker -> NOTIFY heard: p50 {percentile(to_notify, 50):.1f} ms, "
        f"p99 {percentile(to_notify, 99):.1f} ms; NOTIFY -> API process -> client: "
        f"p50 {percentile(to_client, 50):.1f} ms, p99 {percentile(to_client, 99):.1f} ms"
    )
    calls_made = after["append_calls"] - before["append_calls"]
    rows = after["piece_rows"] - before["piece_rows"]
    print(
        f"  database per streamed reply: {calls_made / per:.2f} relay statements (shared; {calls_made} in all), "
        f"{rows / per:.1f} piece rows, {notified['payloads'] / per:.2f} NOTIFY payloads "
        f"({notified['pieces'] / per:.1f} pieces, {notified['states'] / per:.1f} state items), "
        f"+ the start and the completion as without streaming"
    )
    if busy_rate is None:
        print(f"  accepted questions/s: {idle_rate:.0f} with no stream; never reached {args.busy} generating streams")
    else:
        print(
            f"  accepted questions/s: {busy_rate:.0f} with {busy_streams} streams generating, {idle_rate:.0f} with "
            f"none: ratio {busy_rate / idle_rate:.2f} (goal >= 0.8)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--tps", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=10, help="stub reply length, in sentences")
    parser.add_argument("--ask-seconds", type=float, default=5)
    parser.add_argument("--ask-clients", type=int, default=16)
    parser.add_argument("--busy", type=int, default=500, help="streams generating while asks are measured")
    parser.add_argument("--serve-stub", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ask-load", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub:
        serve_stub(args.serve_stub)
        return
    if args.ask_load:
        url = os.environ["DATABASE_URL"]
        rate = asyncio.run(accepted_per_second(args.ask_load, askers_of(url), args.ask_clients, args.ask_seconds))
        print(rate)
        return
    with scratch_database("stream") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            # Per-function call counts (the relay statements) for this database.
            conn.execute(f"ALTER DATABASE \"{conn.info.dbname}\" SET track_functions = 'pl'")
        asyncio.run(main_async(args, url))


if __name__ == "__main__":
    main()
