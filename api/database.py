"""The database as a handler sees it: scoped for Row-Level Security (core/database/scope.py).

`user_db(request)` acts for the authenticated caller; `service_db(request, why)` acts
as `mukti_service` for a route that serves no single user, with the reason beside it.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection

from core.database.scope import ScopedPool, as_service, for_user


def user_db(request: ASGIConnection) -> ScopedPool:
    return for_user(request.app.state.pool, request.user.id)


def service_db(request: ASGIConnection, why: str) -> ScopedPool:
    return as_service(request.app.state.pool, why)
