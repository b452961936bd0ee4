"""What the benchmarks share: a scratch database and a free local port."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import psycopg

from cli import migrate

SERVER = "postgresql://postgres@127.0.0.1:5432"
# Procrastinate's job-inserted trigger as shipped (a NOTIFY from every transaction that
# defers a job) and as migration 0018 leaves it (none for questions: the API coalesces).
_SCHEMA = Path(__file__).resolve().parents[1] / "db/sql/schema"
PER_ROW_NOTIFY = (_SCHEMA / "0018_performance.down.sql").read_text()
COALESCED = (_SCHEMA / "0018_performance.up.sql").read_text()
# Procrastinate's fetch of the next job as shipped, and as migration 0022 has it planned
# (on every call, without sorts).
FETCH_AS_SHIPPED = (_SCHEMA / "0022_fetch_plans.down.sql").read_text()
FETCH_PLANNED_EACH_CALL = (_SCHEMA / "0022_fetch_plans.up.sql").read_text()
SPEED_LOOP = 2_000_000  # steps of box_speed()'s loop
LOCAL_HOSTS = {None, "", "127.0.0.1", "localhost", "::1"}  # None: a Unix socket


@contextlib.contextmanager
def scratch_database(label: str, own: bool = False) -> Iterator[str]:
    """DATABASE_URL if set (left as is) and `own` is not asked for, else a new database on
    127.0.0.1:5432 migrated to head, dropped afterwards."""
    url = os.environ.get("DATABASE_URL")
    if url and not own:
        yield url
        return
    name = f"mukti_bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{SERVER}/{name}"
        migrate(url)
        yield url
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def box_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core; /proc/stat, Linux), 0.0
    where that cannot be read: the difference over a phase, divided by what the phase did,
    is its CPU per operation, counting processes that exit meanwhile (pgbench's backends)."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def process_cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of the processes `pids` so far (0.0 for any that is gone)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (e.g. the server processes of `mukti api`)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            text = stat.read_text()
            if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def box_speed() -> str:
    """One core's speed, in words: seconds for a fixed pure-Python loop (best of three).
    Absolute figures (calls/s, jobs/s) move with the machine, by 2-3x between boxes of the
    same kind on this project; this line lets a reader tell a slower box from slower code."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for i in range(SPEED_LOOP):
            total += i
        best = min(best, time.perf_counter() - started)
    return f"{os.cpu_count()} CPUs; one core: {best:.2f} s for a {SPEED_LOOP:,}-step Python loop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    """Until `url` answers 200 (a server the benchmark started); SystemExit after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


class DiskStalls:
    """Spells in which the disk under the database's data directory had I/O in flight and
    completed none (Linux block statistics, read every `interval` s by a thread): a WAL
    flush the device holds for 100 ms holds every commit behind it, whatever the
    application does, and shows in the latency of every request in flight. Where the data
    directory is not on this machine or not readable, it watches nothing and says so."""

    def __init__(self, url: str, interval: float = 0.01) -> None:
        self.interval, self.reason = interval, ""
        self.device: Path | None = None
        self.spells: list[tuple[float, float]] = []  # (start, seconds), start from perf_counter
        if urlparse(url).hostname not in LOCAL_HOSTS:
            self.reason = "the database is on another machine"
        else:
            self._find_device(url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _find_device(self, url: str) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute("SHOW data_directory").fetchone()
            dev = os.stat(row[0]).st_dev if row else None
            stat = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}/stat") if dev is not None else None
            if stat is not None and stat.exists():
                self.device = stat.resolve()
            else:
                self.reason = "no block statistics for its device"
        except (OSError, psycopg.Error) as exc:
            self.reason = f"data directory not readable here ({type(exc).__name__})"

    def __enter__(self) -> DiskStalls:
        if self.device is not None:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _read(self) -> tuple[int, int]:
        """(I/Os in flight, I/Os completed: reads, writes and flushes)."""
        assert self.device is not None  # the thread starts only with a device
        fields = [int(x) for x in self.device.read_text().split()]
        return fields[8], fields[0] + fields[4] + (fields[14] if len(fields) > 14 else 0)

    def _watch(self) -> None:
        try:
            self._watch_until_stopped()
        except OSError as exc:  # the device went away: say so rather than report no stalls
            self.device, self.reason = None, f"its statistics stopped being readable ({exc})"

    def _watch_until_stopped(self) -> None:
        stuck_since, last_done = None, self._read()[1]
        while not self._stop.wait(self.interval):
            now, (in_flight, done) = time.perf_counter(), self._read()
            if in_flight and done == last_done:
                stuck_since = stuck_since or now - self.interval
            elif stuck_since is not None:
                self.spells.append((stuck_since, now - stuck_since))
                stuck_since = None
            last_done = done

    def report(self, since: float, at_least: float = 0.03) -> str:
        """The spells of `at_least` s or more after `since` (a perf_counter reading), in words."""
        if self.device is None:
            return f"the disk not watched: {self.reason}"
        spells = [(start - since, length) for start, length in self.spells if start >= since and length >= at_least]
        if not spells:
            return f"the disk ({self.device.parent.name}) stalled for {at_least * 1000:.0f} ms or more: never"
        start, length = max(spells, key=lambda spell: spell[1])
        return (
            f"the disk ({self.device.parent.name}) stalled for {at_least * 1000:.0f} ms or more {len(spells)} times "
            f"(I/O in flight, none completing); the longest {length * 1000:.0f} ms at {start:.2f} s"
        )
