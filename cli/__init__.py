"""The `mukti` command: up, migrate, api, worker, llm-stub."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from cli.supervisor import Child, stop_all
from core.settings import Settings

log = logging.getLogger("mukti")


def migrate(database_url: str, revision: str = "head") -> None:
    from alembic import command

    from db.migrations.heads import alembic_config

    command.upgrade(alembic_config(database_url), revision)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    migrate(settings.require_database_url(), args.revision)
    print(f"database migrated to {args.revision}")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings.from_env()
    settings.check()
    settings.require_database_url()
    uvicorn.run(
        "api.app:asgi",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_level="info",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        # Behind a reverse proxy the client address (login and share-password throttles,
        # visitor hashes) comes from X-Forwarded-For, trusted only from these addresses.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from jobs.worker import run_worker

    settings = Settings.from_env()
    # uvloop (installed with uvicorn[standard], as the API uses it) cuts the event loop's
    # share of a job's CPU time, the worker's limit at hundreds of jobs per second.
    try:
        from uvloop import new_event_loop as loop_factory
    except ImportError:
        loop_factory = None  # type: ignore[assignment]
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(run_worker(settings, queues=args.queue or None))


def cmd_llm_stub(args: argparse.Namespace) -> int:
    from core.llm.stub import serve

    serve(args.host, args.port)
    return 0


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _admin_command(args: argparse.Namespace) -> int:
    """`mukti admin create|promote`: the only way to the first admin (the API never grants roles to itself)."""
    import asyncpg

    from api.accounts import service

    if args.action == "create" and len(args.password or "") < 10:
        print("the password must be at least 10 characters", file=sys.stderr)
        return 2
    database_url = Settings.from_env().require_database_url()

    async def run() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            if args.action == "create":
                try:
                    user_id = await service.create_admin(conn, args.email, args.password, args.display_name)
                except asyncpg.UniqueViolationError:
                    print(f"an account with the email {args.email} exists; use `mukti admin promote`", file=sys.stderr)
                    return 1
                print(f"admin {args.email} created (id {user_id})")
                return 0
            if await service.set_role(conn, args.email, args.role) is None:
                print(f"no account with the email {args.email}", file=sys.stderr)
                return 1
            print(f"{args.email} is now {args.role}")
            return 0
        finally:
            await conn.close()

    return asyncio.run(run())


def cmd_admin(args: argparse.Namespace) -> int:
    if args.action == "create" and args.password is None:
        import getpass

        args.password = getpass.getpass("password for the new admin: ")
    return _admin_command(args)


def _wait_ready(url: str, children: list[Child], timeout: float = 60, path: str = "/ready") -> bool:
    """Until `url + path` answers 200; False at the timeout or when a child exits meanwhile
    (at startup that is a configuration error: no point restarting it)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not all(child.running() for child in children):
            return False
        try:
            if httpx.get(url + path, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def cmd_up(args: argparse.Namespace) -> int:
    """Run everything: (embedded) Postgres, migrations, the API and a worker; restart
    the API or the worker when it dies (cli/supervisor.py)."""
    settings = Settings.from_env()
    env = dict(os.environ)
    server = None
    if settings.database_url:
        database_url = settings.require_database_url()
    else:
        from cli.embedded import database_url_of, start_embedded_postgres

        server = start_embedded_postgres(settings.data_dir)
        database_url = database_url_of(server)
        print(f"embedded Postgres, data in {(settings.data_dir / 'postgres').resolve()}", flush=True)
        # The embedded server's login is a superuser, whom Row-Level Security never
        # applies to: the API and worker act as the app role, as in production.
        env.setdefault("MUKTI_DB_ROLE", "mukti_app")
    env["DATABASE_URL"] = database_url

    migrate(database_url)
    port = args.port or settings.port
    env["MUKTI_PORT"] = str(port)
    base = [sys.executable, "-m", "cli"]
    # Services the API and worker use; stopped after them (running jobs still call the LLM).
    services: list[Child] = []
    if not settings.llm_base_url and not settings.llm_api_key:
        # No LLM configured: answer with the offline stub, in a process of its own.
        stub_port = _free_port("127.0.0.1")
        services.append(Child("llm-stub", [*base, "llm-stub", "--port", str(stub_port)], env))
        services[0].start()
        stub_url = f"http://127.0.0.1:{stub_port}"
        if not _wait_ready(stub_url, services, timeout=30, path="/v1/models"):
            stop_all(services, timeout=5)
            if server is not None:
                server.cleanup()
            print("the offline LLM stub did not start", file=sys.stderr, flush=True)
            return 1
        env["LLM_BASE_URL"] = stub_url + "/v1"
        print(f"no LLM configured (LLM_BASE_URL, LLM_API_KEY): using the offline stub at {stub_url}/v1", flush=True)
    children = [Child("api", [*base, "api", "--port", str(port)], env), Child("worker", [*base, "worker"], env)]
    for child in children:
        child.start()
    url = f"http://{settings.host}:{port}"

    stopping = False

    def request_stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    ready = False
    try:
        ready = _wait_ready(url, children)
        if ready:
            web = "the web client is there; " if settings.web_client else ""
            print(f"Mukti is running at {url}  ({web}API docs: {url}/schema)  — Ctrl-C stops it", flush=True)
        elif not stopping:
            print("Mukti did not become ready; stopping", file=sys.stderr, flush=True)
            stopping = True
        while not stopping:
            now = time.monotonic()
            for child in children + services:
                child.supervise(now)
            time.sleep(0.2)
    finally:
        stop_all(children, timeout=settings.worker_shutdown_timeout + 5)
        stop_all(services, timeout=5)
        if server is not None:
            server.cleanup()
        print("Mukti stopped", flush=True)
    return 0 if ready else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mukti", description="Mukti: a Socratic tutoring backend")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the API and a worker (embedded Postgres when DATABASE_URL is unset)")
    up.add_argument("--port", type=int, default=None)
    up.set_defaults(func=cmd_up)

    mig = sub.add_parser("migrate", help="apply migrations (default: to head)")
    mig.add_argument("revision", nargs="?", default="head")
    mig.set_defaults(func=cmd_migrate)

    api = sub.add_parser("api", help="run the HTTP API")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    api.add_argument("--workers", type=int, default=1, help="number of API processes")
    api.set_defaults(func=cmd_api)

    worker = sub.add_parser("worker", help="run a background worker")
    worker.add_argument("--queue", action="append", help="only these queues (repeatable)")
    worker.set_defaults(func=cmd_worker)

    admin = sub.add_parser("admin", help="manage administrator accounts")
    admin_sub = admin.add_subparsers(dest="action", required=True)
    create = admin_sub.add_parser("create", help="create an admin account (e.g. the first one)")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted (keeps it out of the shell history)")
    create.add_argument("--display-name", default=None)
    create.set_defaults(func=cmd_admin)
    promote = admin_sub.add_parser("promote", help="set the role of an existing account")
    promote.add_argument("--email", required=True)
    promote.add_argument("--role", choices=("user", "moderator", "admin"), default="admin")
    promote.set_defaults(func=cmd_admin)

    stub = sub.add_parser("llm-stub", help="run the offline OpenAI-compatible LLM stub")
    stub.add_argument("--host", default="127.0.0.1")
    stub.add_argument("--port", type=int, default=8001)
    stub.set_defaults(func=cmd_llm_stub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.func(args)
