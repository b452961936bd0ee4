"""`mukti up` with no database configured: embedded Postgres, migrated, API ready; data survives a restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LLM_BASE_URL", "LLM_API_KEY")}
    env["MUKTI_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "up", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_banner(proc: subprocess.Popen, timeout: float = 60) -> list[str]:
    """Read the output until `mukti up` says it is running (it prints only once /ready is 200)."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Mukti is running at" in line:
            return lines
    raise AssertionError("mukti up did not become ready:\n" + "".join(lines[-40:]))


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    return output


@pytest.mark.slow
def test_up_serves_on_embedded_postgres_and_keeps_data(tmp_path: Path):
    data_dir = tmp_path / "data"
    port = _free_port()
    started = time.monotonic()
    proc = _start(data_dir, port)
    try:
        lines = _wait_for_banner(proc)
        assert time.monotonic() - started < 60
        # One line per step, in order, and nothing else (the servers' own output goes to log files).
        steps = [line.split()[0] for line in lines[:-1]]
        assert steps == ["port", "database", "migrations", "LLM", "API", "worker"], "".join(lines)
        base = f"http://127.0.0.1:{port}"
        for path in ("/health", "/ready", "/schema/openapi.json", "/", "/static/js/main.js"):  # / is the web client
            assert httpx.get(base + path, timeout=5).status_code == 200, path
        socket_dir = data_dir.resolve() / "postgres"
        with psycopg.connect(host=str(socket_dir), dbname="mukti", user="postgres", autocommit=True) as conn:
            conn.execute("INSERT INTO users (email) VALUES ('kept@example.org')")
    finally:
        output = _stop(proc)
    assert proc.returncode == 0, output
    assert "Mukti stopped" in output

    proc = _start(data_dir, port)
    try:
        _wait_for_banner(proc)
        with psycopg.connect(host=str(socket_dir), dbname="mukti", user="postgres") as conn:
            assert conn.execute("SELECT count(*) FROM users WHERE email = 'kept@example.org'").fetchone()[0] == 1
    finally:
        _stop(proc)


@pytest.mark.slow
def test_up_names_a_port_in_use_before_starting_anything(tmp_path: Path):
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _start(data_dir, port)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert output.splitlines() == [
        f"port       {port} on 127.0.0.1 is in use: stop what uses it, or choose another with --port N"
    ]
    assert not data_dir.exists()  # no database was started


def _child_pids(proc: subprocess.Popen, command: str) -> set[int]:
    import psutil

    return {
        c.pid
        for c in psutil.Process(proc.pid).children()
        if c.is_running() and c.status() != psutil.STATUS_ZOMBIE and command in c.cmdline()
    }


def test_up_restarts_a_child_that_dies(database_url: str, stub, tmp_path: Path):
    """A dead worker (here kill -9) is started again; the API stays up meanwhile."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LLM_BASE_URL": stub.base_url, "MUKTI_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "up", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_banner(proc)
        (worker,) = _child_pids(proc, "worker")
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _child_pids(proc, "worker") in (set(), {worker}):
            time.sleep(0.1)
        restarted = _child_pids(proc, "worker")
        assert len(restarted) == 1 and worker not in restarted
        assert proc.poll() is None
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
    finally:
        output = _stop(proc)
    assert proc.returncode == 0, output
    assert "mukti worker exited with code -9" in output
