"""The `mukti` command: up, migrate, api, worker, retry-stalled, admin, analyst, llm-stub."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from cli.up import cmd_up
from core.heap import freeze_startup_heap
from core.logs import configure_logging
from core.settings import Settings

log = logging.getLogger("mukti")


def migrate(database_url: str, revision: str = "head") -> None:
    from alembic import command

    from db.migrations.heads import alembic_config

    command.upgrade(alembic_config(database_url), revision)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    migrate(settings.require_direct_database_url(), args.revision)
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
    freeze_startup_heap()  # here, not in run_worker: tests run workers in-process
    # uvloop (installed with uvicorn[standard], as the API uses it) cuts the event loop's
    # share of a job's CPU time, the worker's limit at hundreds of jobs per second.
    try:
        from uvloop import new_event_loop as loop_factory
    except ImportError:
        loop_factory = None  # type: ignore[assignment]
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(run_worker(settings, queues=args.queue or None))


def cmd_retry_stalled(args: argparse.Namespace) -> int:
    """What the sweeper does every minute, now: after a restore from backup, the workers that
    ran on the old server are gone, and `--silent-for 0` (before any worker starts on the
    restored server) puts their jobs back at once instead of after a heartbeat timeout."""
    from core.database.pool import create_pool
    from jobs.app import configured_app
    from jobs.sweeper import retry_stalled_jobs

    settings = Settings.from_env()

    async def run() -> list[int]:
        app = configured_app(settings, pool_max=1)
        pool = await create_pool(settings, application_name="mukti-cli", min_size=1, max_size=1, json_codecs=False)
        try:
            async with app.open_async():
                return await retry_stalled_jobs(app, pool, seconds_since_heartbeat=args.silent_for)
        finally:
            await pool.close()

    retried = asyncio.run(run())
    print(f"{len(retried)} jobs of workers silent for {args.silent_for:g} s put back in the queue")
    return 0


def cmd_llm_stub(args: argparse.Namespace) -> int:
    from core.llm.stub import serve

    serve(args.host, args.port)
    return 0


def _admin_command(args: argparse.Namespace) -> int:
    """`mukti admin create|promote`: the only way to the first admin (the API never grants roles to itself)."""
    import asyncpg

    from api.accounts import service
    from core.database.gateway import Db

    if args.action == "create" and len(args.password or "") < 10:
        print("the password must be at least 10 characters", file=sys.stderr)
        return 2
    database_url = Settings.from_env().require_direct_database_url()

    async def run() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            if args.action == "create":
                try:
                    user_id = await service.create_admin(Db.on(conn), args.email, args.password, args.display_name)
                except asyncpg.UniqueViolationError:
                    print(f"an account with the email {args.email} exists; use `mukti admin promote`", file=sys.stderr)
                    return 1
                print(f"admin {args.email} created (id {user_id})")
                return 0
            if await service.set_role(Db.on(conn), args.email, args.role) is None:
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


def cmd_analyst(args: argparse.Namespace) -> int:
    from cli.analyst import main as analyst_main

    return analyst_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mukti", description="Mukti: a Socratic tutoring backend")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the API and a worker (embedded Postgres when DATABASE_URL is unset)")
    up.add_argument("--port", type=int, default=None)
    up.add_argument("--verbose", action="store_true", help="show the output of Postgres, migrations, API and worker")
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

    stalled = sub.add_parser(
        "retry-stalled", help="put back the jobs of workers that stopped sending heartbeats (what the sweeper does)"
    )
    stalled.add_argument(
        "--silent-for",
        type=float,
        default=30.0,
        help="seconds without a heartbeat (default 30; 0 after a restore, before starting workers)",
    )
    stalled.set_defaults(func=cmd_retry_stalled)

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

    analyst = sub.add_parser("analyst", help="manage analysts' database logins (members of mukti_analyst)")
    analyst_sub = analyst.add_subparsers(dest="action", required=True)
    a_create = analyst_sub.add_parser("create", help="a LOGIN role with the analyst's privileges and limits")
    a_create.add_argument("--name", required=True, help="the role name (lowercase letters, digits, _)")
    a_create.add_argument("--password", help="at least 12 characters; generated and printed when omitted")
    a_create.add_argument("--connection-limit", type=int, default=3)
    a_create.set_defaults(func=cmd_analyst)
    a_revoke = analyst_sub.add_parser("revoke", help="drop an analyst's login role, ending its sessions")
    a_revoke.add_argument("--name", required=True)
    a_revoke.set_defaults(func=cmd_analyst)

    stub = sub.add_parser("llm-stub", help="run the offline OpenAI-compatible LLM stub")
    stub.add_argument("--host", default="127.0.0.1")
    stub.add_argument("--port", type=int, default=8001)
    stub.set_defaults(func=cmd_llm_stub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging(os.environ.get("MUKTI_LOG_FORMAT", "text"))
    args = build_parser().parse_args(argv)
    return args.func(args)
