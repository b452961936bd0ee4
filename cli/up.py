"""`mukti up`: everything on one machine, told to a person one line per step.

    port       8000 on 127.0.0.1 is free
    database   embedded Postgres, data in /home/ada/mukti/.mukti/postgres
    migrations at head (0015)
    LLM        none configured (LLM_BASE_URL, LLM_API_KEY): the worker answers with the offline stub
    API        ready at http://127.0.0.1:8000
    worker     running
    Mukti is running at http://127.0.0.1:8000  (API docs: http://127.0.0.1:8000/schema)  — Ctrl-C stops it

What the embedded Postgres, Alembic, the API and the worker print themselves goes to
log files under MUKTI_DATA_DIR/logs (shown with --verbose instead, and the tail of the
failing one when a step fails). A port in use is said before anything is started.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from cli.supervisor import Child, stop_all
from core.settings import Settings

TAIL_LINES = 30


def say(step: str, text: str, *, err: bool = False) -> None:
    print(f"{step:<11}{text}", file=sys.stderr if err else sys.stdout, flush=True)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@contextlib.contextmanager
def captured_output(path: Path | None) -> Iterator[None]:
    """Everything written to stdout and stderr inside, by Python or by child processes
    (pg_ctl, initdb), goes to `path` (appended); None (verbose) captures nothing."""
    if path is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    with open(path, "ab") as capture:
        saved = os.dup(1), os.dup(2)
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. platformdirs' XDG_RUNTIME_DIR notice
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def tail(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    lines = path.read_text(errors="replace").splitlines()[-TAIL_LINES:]
    return "\n".join("    " + line for line in lines)


def _wait_ready(url: str, children: list[Child], timeout: float = 60) -> bool:
    """Until `url`'s /ready answers 200; False at the timeout or when a child exits meanwhile
    (at startup that is a configuration error: no point restarting it)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not all(child.running() for child in children):
            return False
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


class Up:
    def __init__(self, settings: Settings, port: int, verbose: bool) -> None:
        self.settings, self.port, self.verbose = settings, port, verbose
        self.logs = (settings.data_dir / "logs").resolve()
        self.server = None
        self.children: list[Child] = []

    def quiet_log(self, name: str) -> Path | None:
        """Where a step's own output goes: logs/<name>.log, or nowhere special when verbose."""
        return None if self.verbose else self.logs / f"{name}.log"

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        """A child process (restarted when it dies, cli/supervisor.py); its output goes to
        logs/<name>.log unless verbose."""
        child = Child(name, [sys.executable, "-m", "cli", *argv], env, log=self.quiet_log(name))
        child.start()
        return child

    def fail(self, step: str, text: str, log: Path | None = None) -> int:
        say(step, f"FAILED: {text}", err=True)
        if log is not None and tail(log):
            print(f"    (last lines of {log})\n{tail(log)}", file=sys.stderr, flush=True)
        self.stop()
        return 1

    def stop(self) -> None:
        stop_all(self.children, timeout=self.settings.worker_shutdown_timeout + 5)
        if self.server is not None:
            with captured_output(self.quiet_log("postgres")):
                self.server.cleanup()
            self.server = None

    def database(self, env: dict[str, str]) -> str | None:
        if self.settings.database_url:
            url = self.settings.require_database_url()
            say("database", "DATABASE_URL " + url.split("@")[-1])
            return url
        from cli.embedded import database_url_of, start_embedded_postgres

        capture = self.quiet_log("postgres")
        try:
            with captured_output(capture):
                self.server = start_embedded_postgres(self.settings.data_dir)
                url = database_url_of(self.server)
        except Exception as exc:  # noqa: BLE001 (any failure of the embedded server is reported whole)
            self.fail("database", f"the embedded Postgres did not start: {exc}", capture)
            return None
        # The embedded server's login is a superuser, whom Row-Level Security never
        # applies to: the API and worker act as the app role, as in production.
        env.setdefault("MUKTI_DB_ROLE", "mukti_app")
        say("database", f"embedded Postgres, data in {(self.settings.data_dir / 'postgres').resolve()}")
        return url

    def migrations(self, database_url: str) -> bool:
        from cli import migrate
        from db.migrations.heads import migration_heads

        capture = self.quiet_log("migrations")
        try:
            with captured_output(capture):
                migrate(database_url)
                heads = ", ".join(sorted(migration_heads()))
        except Exception as exc:  # noqa: BLE001
            self.fail("migrations", f"{type(exc).__name__}: {exc}", capture)
            return False
        say("migrations", f"at head ({heads})")
        return True

    def llm(self) -> None:
        if self.settings.llm_base_url or self.settings.llm_api_key:
            say("LLM", self.settings.llm_base_url or "the OpenAI API (LLM_API_KEY)")
        else:
            # The worker starts the stub itself (jobs/resources.py), as it does outside `mukti up`.
            say("LLM", "none configured (LLM_BASE_URL, LLM_API_KEY): the worker answers with the offline stub")

    def run(self) -> int:
        if not self.verbose:
            # Library chatter (Alembic's set-up, each readiness probe) is not a step.
            for name in ("alembic", "httpx"):
                logging.getLogger(name).setLevel(logging.WARNING)
        host = self.settings.host
        if port_in_use(host, self.port):
            say("port", f"{self.port} on {host} is in use: stop what uses it, or choose another with --port N",
                err=True)  # fmt: skip
            return 1
        say("port", f"{self.port} on {host} is free")
        self.logs.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        database_url = self.database(env)
        if database_url is None:
            return 1
        env["DATABASE_URL"] = database_url
        env["MUKTI_PORT"] = str(self.port)
        if not self.migrations(database_url):
            return 1
        self.llm()

        stopping = False

        def request_stop(_signum, _frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        url = f"http://{host}:{self.port}"
        api = self.spawn("api", ["api", "--port", str(self.port)], env)
        worker = self.spawn("worker", ["worker"], env)
        self.children = [api, worker]
        if not _wait_ready(url, self.children):
            if stopping:
                self.stop()
                return 0
            failed = next((c for c in self.children if not c.running()), api)
            name = "worker" if failed is worker else "API"
            return self.fail(name, "exited" if not failed.running() else "did not become ready in 60 s", failed.log)
        say("API", f"ready at {url}" + ("" if api.log is None else f"  (log: {api.log})"))
        say("worker", "running" + ("" if worker.log is None else f"  (log: {worker.log})"))
        web = "the web client is there; " if self.settings.web_client else ""
        print(f"Mukti is running at {url}  ({web}API docs: {url}/schema)  — Ctrl-C stops it", flush=True)
        try:
            # A child that dies is restarted (with backoff) and says so; Ctrl-C stops all.
            while not stopping:
                now = time.monotonic()
                for child in self.children:
                    child.supervise(now)
                time.sleep(0.2)
        finally:
            self.stop()
            print("Mukti stopped", flush=True)
        return 0


def cmd_up(args: argparse.Namespace) -> int:
    """Run everything: (embedded) Postgres, migrations, the API and a worker."""
    settings = Settings.from_env()
    return Up(settings, args.port or settings.port, args.verbose).run()
