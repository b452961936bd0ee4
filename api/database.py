"""The database as a handler sees it (core/database/gateway.py), by dependency injection.

A handler that declares `db: NamedDependency[Db]` (Litestar wants injected parameters
marked) gets the gateway scoped to the authenticated caller
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
