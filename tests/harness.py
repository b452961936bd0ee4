"""Finding a Postgres for tests and benchmarks, and cloning databases from a template.

Order: MUKTI_TEST_DATABASE_URL (a server someone configured) > a server answering on
127.0.0.1:5432 > an embedded server (pgserver) started in a temporary folder.
MUKTI_TEST_EMBEDDED=1 skips straight to the embedded one.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import psycopg
from psycopg import sql
from pytest_postgresql.janitor import DatabaseJanitor


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str | None = None
    embedded: bool = False

    def url(self, dbname: str) -> str:
        auth = quote(self.user) + (f":{quote(self.password)}" if self.password else "")
        if self.host.startswith("/"):
            return f"postgresql://{auth}@/{dbname}?host={quote(self.host)}&port={self.port}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), **kwargs)


def _from_url(url: str) -> PgServer:
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or "127.0.0.1"])[0]
    port = int(query.get("port", [parsed.port or 5432])[0])
    return PgServer(host=host, port=port, user=parsed.username or "postgres", password=parsed.password or None)


def _answers(server: PgServer) -> bool:
    try:
        with server.connect(connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


class EmbeddedPostgres:
    """A throwaway pgserver instance; `stop()` removes its data."""

    def __init__(self) -> None:
        import pgserver

        self.dir = Path(tempfile.mkdtemp(prefix="mukti-test-pg-"))
        self.handle = pgserver.get_server(self.dir, cleanup_mode="stop")
        self.server = PgServer(**{**_from_url(self.handle.get_uri()).__dict__, "embedded": True})

    def stop(self) -> None:
        self.handle.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


def find_server() -> tuple[PgServer, EmbeddedPostgres | None]:
    """A reachable server and, when we started one, the handle that stops it."""
    configured = os.environ.get("MUKTI_TEST_DATABASE_URL")
    if configured:
        return _from_url(configured), None
    if os.environ.get("MUKTI_TEST_EMBEDDED") != "1":
        local = PgServer(host="127.0.0.1", port=5432, user="postgres")
        if _answers(local):
            return local, None
    embedded = EmbeddedPostgres()
    return embedded.server, embedded


def janitor(server: PgServer, dbname: str, template: str | None = None, as_template: bool = False) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=server.user,
        host=server.host,
        port=server.port,
        password=server.password,
        dbname=dbname,
        template_dbname=template,
        as_template=as_template,
    )


class ClonePool:
    """Test databases cloned from the template ahead of their tests, and dropped after
    them, by threads of their own: clones and drops (each 0.1-0.9 s, the more the busier
    the server's disk) overlap the tests before, instead of adding to every test. Clones
    use Postgres's default strategy (WAL_LOG, 15+): for our ~11 MB template it is faster
    than FILE_COPY, whose checkpoint also flushes whatever the running test wrote."""

    AHEAD = 2  # clones made ahead (most tests take less time than one clone)

    def __init__(self, server: PgServer, template: str) -> None:
        self._server = server
        self._template = template
        self._cloning = ThreadPoolExecutor(max_workers=self.AHEAD, thread_name_prefix="test-database-clones")
        self._dropping = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-database-drops")
        self._ahead: collections.deque[Future[str]] = collections.deque()
        self._drops: list[Future[None]] = []
        self.waits: list[float] = []  # how long each take() waited for its clone
        self.made: list[str] = []  # every clone made (appended by the cloning threads)

    def _clone(self) -> str:
        name = unique_name("mukti_t")
        janitor(self._server, name, template=self._template).init()
        self.made.append(name)
        return name

    def take(self) -> str:
        """A fresh clone (its name); the ones ahead are started at once."""
        started = time.perf_counter()
        while len(self._ahead) < self.AHEAD + 1:
            self._ahead.append(self._cloning.submit(self._clone))
        ahead = self._ahead[0]
        try:
            name = ahead.result()
        finally:
            if ahead.done():  # taken, or failed (this test fails); if interrupted, close() drops it
                self._ahead.popleft()
        self.waits.append(time.perf_counter() - started)
        return name

    def _drop(self, name: str) -> None:
        try:
            janitor(self._server, name).drop()
        except Exception as exc:
            raise RuntimeError(f"dropping test database {name} failed") from exc

    def give_back(self, name: str) -> None:
        """Drop a clone taken before (its connections are cut). Raises a failed earlier drop
        (with its database's name) here, in the teardown of the next test to give one back."""
        failed = _errors([f for f in self._drops if f.done()])
        self._drops = [f for f in self._drops if not f.done()]
        self._drops.append(self._dropping.submit(self._drop, name))
        if failed:
            raise ExceptionGroup("test databases left behind", failed)

    def close(self) -> None:
        """Drop the clones made ahead; raises every failed drop."""
        for ahead in self._ahead:
            with contextlib.suppress(Exception):  # (a failed clone was never anyone's database)
                self._drops.append(self._dropping.submit(self._drop, ahead.result()))
        self._cloning.shutdown(wait=True)
        self._dropping.shutdown(wait=True)
        failed = _errors(self._drops)
        if failed:
            raise ExceptionGroup("test databases left behind", failed)


def _errors(done: list[Future[None]]) -> list[Exception]:
    return [error for future in done if isinstance(error := future.exception(), Exception)]


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


_TEST_DATABASE = re.compile(r"^mukti_(?:t|tpl|mig)_(\d+)_[0-9a-f]{8}$")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_stale_databases(server: PgServer) -> list[str]:
    """Drop the test databases of test runs that died without cleaning up (killed, timed out).

    Names carry the pid of the run that made them; only a server on this machine is
    swept, where that pid means something."""
    if not (server.host.startswith("/") or server.host in ("127.0.0.1", "localhost", "::1")):
        return []
    with server.connect() as conn:
        conn.autocommit = True
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
        stale = [n for n in names if (m := _TEST_DATABASE.match(n)) and not _process_alive(int(m.group(1)))]
        for name in stale:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH is_template false").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return stale


def pg_dump_binary() -> str:
    """pgserver's pg_dump (v16): it dumps servers of its own version and older."""
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump")


PG_BINDIR = Path("/usr/lib/postgresql/15/bin")


class ScramCluster:
    """A throwaway Postgres 15 cluster (initdb + pg_ctl) whose TCP logins need a
    SCRAM-SHA-256 password: the shared test server trusts 127.0.0.1, so a test of
    password logins needs its own. The superuser connects through the Unix socket in the
    data directory (trusted). As root, the server runs as the `postgres` system user
    (initdb refuses root). `available()` says why not when it cannot start."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="mukti-scram-pg-"))
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def available() -> str | None:
        if not (PG_BINDIR / "initdb").exists():
            return f"no Postgres 15 binaries in {PG_BINDIR}"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser to start a server as another user"
        return None

    def start(self) -> PgServer:
        import subprocess

        if self._as:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        subprocess.run(
            [
                *self._as,
                str(PG_BINDIR / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *self._as,
                str(PG_BINDIR / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(self.dir / "log"),
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        return PgServer(host=str(self.dir), port=self.port, user="postgres")

    def stop(self) -> None:
        import subprocess

        subprocess.run(
            [*self._as, str(PG_BINDIR / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)
