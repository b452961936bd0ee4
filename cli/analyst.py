"""`mukti analyst create|revoke`: login roles for analysts.

Role settings are not inherited: a member of mukti_analyst who logs in as themselves
gets its privileges but not its statement timeout or read-only default. So each analyst
is a LOGIN role of their own that is a member of mukti_analyst and carries those
settings itself (copied from mukti_analyst, the one place they are defined: migration
0009), plus a connection limit. The password reaches the server only as a SCRAM-SHA-256
verifier computed here, never in clear (statement logs, pg_stat_activity).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets

import psycopg
from psycopg import sql

GROUP = "mukti_analyst"
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SCRAM_ITERATIONS = 4096  # Postgres's default (scram_iterations)
DEFAULT_CONNECTION_LIMIT = 3


class AnalystError(Exception):
    """A refused request, with the message for the person at the terminal."""


def check_name(name: str) -> None:
    if not NAME.match(name) or name.startswith(("pg_", "mukti_")):
        raise AnalystError(
            f"--name must be 1-63 lowercase letters, digits or _, starting with a letter or _, "
            f"and not pg_* or mukti_*: {name!r}"
        )


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier Postgres stores for `password` (RFC 5802/7677)."""
    if not password.isascii() or not password.isprintable():
        # Postgres SASLprep-normalises other passwords; printable ASCII is the same either way.
        raise AnalystError("--password must be printable ASCII")
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}"


def create(
    conn: psycopg.Connection, name: str, password: str | None, connection_limit: int = DEFAULT_CONNECTION_LIMIT
) -> str:
    """Create the analyst's login role; returns the password (generated when none was given)."""
    check_name(name)
    if connection_limit < 1:
        raise AnalystError("--connection-limit must be at least 1")
    password = password or secrets.token_urlsafe(24)
    if len(password) < 12:
        raise AnalystError("--password must be at least 12 characters")
    verifier = scram_verifier(password)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            raise AnalystError(f"a role named {name} exists already")
        settings = conn.execute(
            "SELECT unnest(s.setconfig) FROM pg_db_role_setting s WHERE s.setrole = %s::regrole AND s.setdatabase = 0",
            (GROUP,),
        ).fetchall()
        if not settings:
            raise AnalystError(f"{GROUP} has no session settings: is the database migrated?")
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN INHERIT PASSWORD {} CONNECTION LIMIT {} IN ROLE {}").format(
                sql.Identifier(name), sql.Literal(verifier), sql.Literal(connection_limit), sql.Identifier(GROUP)
            )
        )
        for (setting,) in settings:
            key, _, value = setting.partition("=")
            conn.execute(
                sql.SQL("ALTER ROLE {} SET {} = {}").format(
                    sql.Identifier(name), sql.Identifier(key), sql.Literal(value)
                )
            )
    return password


def revoke(conn: psycopg.Connection, name: str) -> None:
    """Drop the analyst's login role (only one made by `create`), ending its sessions."""
    check_name(name)
    with conn.transaction():
        # Direct membership, and no power beyond it: pg_has_role() is true for every
        # superuser, which must never be touched here.
        row = conn.execute(
            "SELECT r.rolcanlogin AND NOT (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication"
            "                              OR r.rolbypassrls)"
            "       AND EXISTS (SELECT 1 FROM pg_auth_members m"
            "                    WHERE m.member = r.oid AND m.roleid = %s::regrole)"
            "  FROM pg_roles r WHERE r.rolname = %s",
            (GROUP, name),
        ).fetchone()
        if row is None:
            raise AnalystError(f"no role named {name}")
        if not row[0]:
            raise AnalystError(f"{name} is not an analyst login (a plain LOGIN member of {GROUP}): left alone")
        conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(name)))
    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))
    with conn.transaction():
        # It owns nothing here (read-only); DROP OWNED also removes any grant made to it.
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def main(args) -> int:
    import sys

    from core.settings import Settings

    database_url = Settings.from_env().require_database_url()
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            if args.action == "create":
                password = create(conn, args.name, args.password, args.connection_limit)
                print(f"analyst {args.name} created (member of {GROUP}, {args.connection_limit} connections)")
                if not args.password:
                    print(f"password: {password}")
            else:
                revoke(conn, args.name)
                print(f"analyst {args.name} revoked")
    except AnalystError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0
