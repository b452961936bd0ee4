"""Throwaway servers for the tests that go beyond one database: a PgBouncer in transaction
mode, and Postgres clusters of their own (a primary with WAL archiving, a streaming standby
made with pg_basebackup, a cluster restored from a base backup).

Nothing here touches the shared server the rest of the suite uses except as a client: every
cluster lives in a temporary folder on a free port and is removed on exit. As root (CI
containers), the servers run as the `postgres` system user: neither Postgres nor PgBouncer
runs as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> pwd.struct_passwd | None:
    """The account servers run as when we are root; None: as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return pwd.getpwnam("nobody")


def _as_server_user(kwargs: dict) -> dict:
    account = _run_as()
    if account is not None:
        kwargs.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
    return kwargs


def _owned_tempdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    account = _run_as()
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)
    return path


def _wait_port(port: int, proc: subprocess.Popen | None, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


# --------------------------------------------------------------------------- PgBouncer


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


class PgBouncer:
    """PgBouncer in transaction mode on a free port, forwarding every database name to one
    Postgres server (a `*` fallback entry): `url(dbname)` reaches database `dbname` through it."""

    def __init__(self, host: str, port: int, user: str, password: str | None = None, pool_size: int = 20) -> None:
        binary = pgbouncer_binary()
        if binary is None:
            raise FileNotFoundError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
        self.dir = _owned_tempdir("mukti-pgbouncer-")
        self.port, self.user, self.password = free_port(), user, password
        secret = f'"{user}" "{password or ""}"\n'
        (self.dir / "users.txt").write_text(secret)
        forward = f"host={host} port={port} user={user}" + (f" password={password}" if password else "")
        (self.dir / "pgbouncer.ini").write_text(f"""\
[databases]
* = {forward}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
admin_users = {user}
auth_file = {self.dir / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 2000
max_db_connections = {pool_size}
""")
        self.log = self.dir / "pgbouncer.log"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [binary, str(self.dir / "pgbouncer.ini")],
                **_as_server_user({"stdout": out, "stderr": subprocess.STDOUT}),
            )
        try:
            _wait_port(self.port, self.proc, "pgbouncer", self.log)
        except BaseException:
            self.stop()
            raise

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def server_pids(self) -> set[int]:
        """The backend pids of PgBouncer's server connections (its admin console, which
        speaks only the simple query protocol: hence libpq's exec)."""
        with psycopg.connect(self.url("pgbouncer"), autocommit=True) as conn:
            result = conn.pgconn.exec_(b"SHOW SERVERS")
            column = [result.fname(i) for i in range(result.nfields)].index(b"remote_pid")
            return {int(result.get_value(row, column) or 0) for row in range(result.ntuples)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- Postgres clusters


def postgres_bin() -> Path | None:
    """Server binaries (initdb, pg_ctl, pg_basebackup): MUKTI_TEST_PG_BIN, else the newest
    Debian install, else pgserver's (a dependency: Postgres 16, always there)."""
    configured = os.environ.get("MUKTI_TEST_PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    try:
        import pgserver
    except ImportError:
        return None
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return bundled if (bundled / "pg_basebackup").exists() else None


class Cluster:
    """A Postgres cluster in a temporary folder, listening on 127.0.0.1 on a free port
    (trust authentication, user postgres). Build one with `Cluster.init()` (a primary),
    `primary.standby()` (a streaming standby) or `Cluster.restore(backup)`."""

    def __init__(self, bindir: Path, datadir: Path, root: Path) -> None:
        self.bin, self.data, self.root = bindir, datadir, root
        self.port = free_port()
        self.log = root / "server.log"
        self.archive = root / "wal_archive"

    def _tool(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin / name), *args], **_as_server_user({"check": check, "capture_output": True, "text": True})
        )

    @classmethod
    def init(cls, archive: bool = False) -> Cluster:
        """A new primary, ready for streaming replication; with `archive`, every finished
        WAL segment is also copied to `archive` (what a point-in-time restore replays)."""
        bindir = postgres_bin()
        if bindir is None:
            raise FileNotFoundError(
                "no Postgres server binaries: not in MUKTI_TEST_PG_BIN, /usr/lib/postgresql/*/bin or pgserver"
            )
        root = _owned_tempdir("mukti-cluster-")
        cluster = cls(bindir, root / "data", root)
        cluster._tool(
            "initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"
        )
        settings = [
            "wal_level = replica",
            "max_wal_senders = 5",
            "hot_standby = on",
            "fsync = off",
            "shared_buffers = 32MB",
            "max_connections = 60",
        ]
        if archive:
            cluster.archive.mkdir()
            account = _run_as()
            if account is not None:
                os.chown(cluster.archive, account.pw_uid, account.pw_gid)
            settings += ["archive_mode = on", f"archive_command = 'cp %p {cluster.archive}/%f'"]
        with open(cluster.data / "postgresql.conf", "a") as conf:
            conf.write("\n".join(settings) + "\n")
        with open(cluster.data / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        cluster.start()
        return cluster

    def start(self) -> None:
        self._tool(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), autocommit=True)

    def base_backup(self, into: Path | None = None, *, standby: bool = False) -> Path:
        """pg_basebackup of the running cluster (a plain data directory, WAL streamed with
        it, so it is consistent on its own); with `standby`, set up to follow this primary.
        Without `into`, in a new temporary folder the caller removes (the parent of the path)."""
        into = into or (_owned_tempdir("mukti-backup-") / "data")
        args = ["-d", self.url(), "-D", str(into), "-X", "stream", "-c", "fast", "--no-sync"]
        self._tool("pg_basebackup", *args, *(["-R"] if standby else []))
        return into

    def standby(self) -> Cluster:
        """A streaming standby of this primary, started and caught up."""
        root = _owned_tempdir("mukti-standby-")
        replica = Cluster(self.bin, root / "data", root)
        self.base_backup(replica.data, standby=True)
        replica.start()
        return replica

    @classmethod
    def restore(cls, backup: Path, archive: Path | None = None) -> Cluster:
        """A fresh server started from a base backup; with `archive`, it also replays the
        archived WAL after the backup (to the end of the archive), then opens for writes."""
        bindir = postgres_bin()
        if bindir is None:
            raise FileNotFoundError(
                "no Postgres server binaries: not in MUKTI_TEST_PG_BIN, /usr/lib/postgresql/*/bin or pgserver"
            )
        root = _owned_tempdir("mukti-restored-")
        cluster = cls(bindir, root / "data", root)
        shutil.copytree(backup, cluster.data, symlinks=True)
        account = _run_as()
        if account is not None:
            for path in [cluster.data, *cluster.data.rglob("*")]:
                os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
        os.chmod(cluster.data, 0o700)
        with open(cluster.data / "postgresql.conf", "a") as conf:
            conf.write("archive_mode = off\n")
            if archive is not None:
                conf.write(f"restore_command = 'cp {archive}/%f %p'\n")
        if archive is not None:
            (cluster.data / "recovery.signal").touch()
        cluster.start()
        return cluster
