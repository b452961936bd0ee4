"""The database as a handler sees it: scoped for Row-Level Security (core/database/scope.py).

`user_db(request)` acts for the authenticated caller; `service_db(request, why)` acts
as `mukti_service` for a route that serves no single user, with the reason beside it.
`user_reads` and `service_reads` are the same scopes for lag-tolerant reads, which the
read replica may serve.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection

from core.database.replica import Reads
from core.database.scope import ScopedPool, as_service, for_user, service_scope_sql, user_scope_sql


def user_db(request: ASGIConnection) -> ScopedPool:
    return for_user(request.app.state.pool, request.user.id)


def service_db(request: ASGIConnection, why: str) -> ScopedPool:
    return as_service(request.app.state.pool, why)


def user_reads(request: ASGIConnection, lag_tolerant: bool = True) -> Reads:
    """Reads for the caller that may come from the read replica (core/database/replica.py)
    when `lag_tolerant`; scoped like `user_db`."""
    return request.app.state.router.reads(user_scope_sql(request.user.id), lag_tolerant=lag_tolerant)


def service_reads(request: ASGIConnection, why: str) -> Reads:
    """Lag-tolerant reads as `mukti_service` (reports), scoped like `service_db`."""
    return request.app.state.router.reads(service_scope_sql(why))
