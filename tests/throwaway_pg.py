"""A Postgres cluster of a test's own, which the test may stop and start again.

Outage tests must never touch the shared server (others use it): this one lives in a
temporary folder and listens on a Unix socket there only. It is pgserver's build of
Postgres (a test dependency already); started once with `pgserver.get_server`, then
stopped and started with its `pg_ctl`, keeping its socket folder, so a database URL
taken before a stop works again after the start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg


class ThrowawayPostgres:
    def __init__(self) -> None:
        import pgserver

        self.dir = Path(tempfile.mkdtemp(prefix="mukti-outage-pg-"))
        self._handle = pgserver.get_server(self.dir, cleanup_mode="delete")
        info = self._handle.get_postmaster_info()
        self._socket_dir = info.socket_dir
        # pgserver runs the server as its own system user when we are root.
        self._user = "pgserver" if os.geteuid() == 0 else None

    def url(self, dbname: str = "postgres") -> str:
        return self._handle.get_uri(dbname)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import

        pg_ctl(list(args), pgdata=self.dir, user=self._user, timeout=60)

    def stop(self) -> None:
        """Fast shutdown: sessions are cut (SQLSTATE 57P01), new connections refused."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", str(self.dir / "log"), "start")

    def close(self) -> None:
        try:
            self._handle.cleanup()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
