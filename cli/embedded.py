"""An embedded Postgres (pgserver) for running Mukti with no database configured."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("mukti.embedded")


def start_embedded_postgres(data_dir: Path):
    """Start (or reuse) a Postgres whose data lives in `data_dir/postgres`; returns the pgserver handle.

    The data directory survives restarts. The server listens on a Unix socket inside
    the data directory only, so it never collides with another Postgres on the machine.
    """
    import pgserver  # imported here: only `mukti up` without DATABASE_URL needs it

    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    log.info("embedded Postgres at %s", pgdata)
    return server


def database_url_of(server) -> str:
    """A libpq URL for the mukti database of an embedded server (created if missing)."""
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'mukti';")
    if "1 row" not in exists:
        server.psql("CREATE DATABASE mukti;")
    return server.get_uri("mukti")
