"""The database as a handler sees it (core/database/gateway.py), by dependency injection.

A handler that declares `db: Db` gets the gateway scoped to the authenticated caller
(Row-Level Security, core/database/scope.py), or unscoped on a route without one (where
the row policies admit nothing of any user). A route that serves no single user says so
with `db.as_service(WHY)`, the reason a constant beside the route (docs/privacy.md);
lag-tolerant reads go through `db.reads()`.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.di import Provide

from core.database.gateway import Db


def provide_db(request: ASGIConnection) -> Db:
    db: Db = request.app.state.db
    user = request.scope.get("user")
    return db.for_user(user.id) if user is not None else db


DEPENDENCIES = {"db": Provide(provide_db, sync_to_thread=False)}


# Transitional: the scoped pools of the code not yet on the gateway. Removed once every
# feature takes `db: Db`.
from core.database.replica import Reads  # noqa: E402
from core.database.scope import ScopedPool, as_service, for_user, service_scope_sql, user_scope_sql  # noqa: E402


def user_db(request: ASGIConnection) -> ScopedPool:
    return for_user(request.app.state.pool, request.user.id)


def service_db(request: ASGIConnection, why: str) -> ScopedPool:
    return as_service(request.app.state.pool, why)


def user_reads(request: ASGIConnection, lag_tolerant: bool = True) -> Reads:
    return request.app.state.router.reads(user_scope_sql(request.user.id), lag_tolerant=lag_tolerant)


def service_reads(request: ASGIConnection, why: str) -> Reads:
    return request.app.state.router.reads(service_scope_sql(why))
