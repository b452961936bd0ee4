"""The worker process starts, registers, logs, and stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import time

import psycopg


def _wait_for(predicate, timeout: float, what: str) -> None:
    # Polls a database condition that another process brings about; there is no event to await.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_starts_registers_and_stops_cleanly(database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:

            def registered() -> bool:
                return conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0] == 1

            _wait_for(registered, 30, "the worker to register")
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=30)
            assert proc.returncode == 0, output
            assert conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0] == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "worker starting" in output
    assert "worker stopped" in output


def test_a_worker_taken_for_dead_by_another_stops_with_a_failure_code(database_url):
    """Another worker's sweeper deleted this one (stale heartbeat after a long outage or
    pause) and retried its jobs: it must not go on under a deleted id."""
    env = {**os.environ, "DATABASE_URL": database_url}
    # A queue with no jobs: the heartbeat is the first to meet the deleted id (a fetch
    # under it would fail on the jobs' foreign key, with the same exit code).
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "worker", "--queue", "none"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:

            def registered() -> bool:
                return conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0] == 1

            _wait_for(registered, 30, "the worker to register")
            conn.execute("DELETE FROM procrastinate_workers")
        output, _ = proc.communicate(timeout=40)  # the next heartbeat (every 10 s) notices
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, output
    assert "was deleted as stalled" in output
