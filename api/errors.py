"""The one place where failures become HTTP problems (RFC 9457, application/problem+json).

Every error answer carries `status`, `title`, `detail`, a stable `code` and the
request id as `instance`; input errors also name the offending field; every 401 has
a `WWW-Authenticate` challenge. Database constraint violations are mapped
by constraint name, so a rule enforced by Postgres reads like a rule of the API.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from api.limits import MAX_QUESTION_CHARS
from api.request_context import request_id_of
from core.cursors import CursorError
from core.database.failures import is_database_unavailable
from core.logs import REQUEST_ID

log = logging.getLogger("mukti.errors")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the API answers on purpose. Raise it from services and controllers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _CODES.get(status, "error")
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, f"{what} not found", code="not_found")


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        f"{field}: {message}",
        code="validation_failed",
        field=field,
        extra={"errors": [{"field": field, "message": message}]},
    )


@dataclass(frozen=True)
class ConstraintError:
    status: int
    code: str
    detail: str
    field: str | None = None


# Constraint name -> API error. Features add their constraints here, nowhere else.
CONSTRAINT_ERRORS: dict[str, ConstraintError] = {
    "users_email_key": ConstraintError(409, "conflict", "an account with this email already exists", "email"),
    "users_email_length": ConstraintError(422, "validation_failed", "email must be 3 to 320 characters", "email"),
    "users_display_name_length": ConstraintError(
        422, "validation_failed", "display_name must be at most 100 characters", "display_name"
    ),
    "users_preferences_object": ConstraintError(
        422, "validation_failed", "preferences must be a JSON object", "preferences"
    ),
    "subscriptions_plan_fkey": ConstraintError(422, "validation_failed", "unknown plan", "plan"),
    "billing_events_plan_fkey": ConstraintError(422, "validation_failed", "unknown plan", "plan"),
    "conversations_title_length": ConstraintError(
        422, "validation_failed", "title must be 1 to 200 characters", "title"
    ),
    "conversations_technique_fkey": ConstraintError(422, "validation_failed", "unknown technique", "technique_id"),
    "recent_messages_content_length": ConstraintError(
        422, "validation_failed", "content must be 1 to 100000 characters", "content"
    ),
    "question_content_length": ConstraintError(
        422, "validation_failed", f"content must be 1 to {MAX_QUESTION_CHARS} characters and not blank", "content"
    ),
    "techniques_name_length": ConstraintError(422, "validation_failed", "name must be 1 to 120 characters", "name"),
    "technique_versions_prompt_length": ConstraintError(
        422, "validation_failed", "system_prompt must be 1 to 20000 characters", "system_prompt"
    ),
    "resources_title_length": ConstraintError(422, "validation_failed", "title must be 1 to 200 characters", "title"),
    "resources_url_format": ConstraintError(422, "validation_failed", "url must be an http(s) URL", "url"),
    "resources_kind_valid": ConstraintError(422, "validation_failed", "unknown resource kind", "kind"),
    "votes_value_valid": ConstraintError(422, "validation_failed", "value must be 1 or -1", "value"),
    "votes_target_visible": ConstraintError(404, "not_found", "not found"),
    "votes_not_own_item": ConstraintError(403, "forbidden", "you cannot vote on your own item"),
    "moderation_target_exists": ConstraintError(404, "not_found", "not found"),
    "moderation_nothing_pending": ConstraintError(409, "conflict", "nothing of this item is waiting for moderation"),
    "moderation_version_pending": ConstraintError(
        409, "conflict", "that version is not the pending one (the author edited it since)", "version"
    ),
    "moderation_reason_required": ConstraintError(422, "validation_failed", "a rejection needs a reason", "reason"),
    "moderation_not_own": ConstraintError(403, "forbidden", "moderators may not decide on their own submissions"),
    "shared_links_views_valid": ConstraintError(422, "validation_failed", "max_views must be at least 1", "max_views"),
    "shared_links_expiry_valid": ConstraintError(422, "validation_failed", "expires_in must be positive", "expires_in"),
}

_SQLSTATE_FALLBACK = {
    "23505": (409, "conflict", "conflicts with an existing record"),
    "23503": (409, "conflict", "refers to a missing or still-referenced record"),
    "23514": (422, "validation_failed", "violates a data rule"),
    "23502": (422, "validation_failed", "a required value is missing"),
    "22001": (422, "validation_failed", "a value is too long"),
    "22P02": (422, "validation_failed", "a value has the wrong format"),
    # NUL characters (\u0000) cannot be stored in Postgres text; they are bad input.
    "22021": (422, "validation_failed", "a text value contains a character that cannot be stored (e.g. \\u0000)"),
    "22P05": (422, "validation_failed", "a text value contains a character that cannot be stored (e.g. \\u0000)"),
    "22008": (422, "validation_failed", "a date or time is out of range"),
    # Lost a race with a concurrent change (deadlock victim, serialization): safe to retry.
    "40P01": (503, "conflict_retry", "a concurrent change got in the way; please retry"),
    "40001": (503, "conflict_retry", "a concurrent change got in the way; please retry"),
}


# RFC 9110: every 401 names how to authenticate; bearer tokens are the API's scheme.
BEARER_CHALLENGE = 'Bearer realm="mukti"'


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    instance: str | None = None,
) -> Response[dict[str, Any]]:
    code = code or _CODES.get(status, "error")
    body: dict[str, Any] = {
        "type": "about:blank",
        "status": status,
        "title": title or _TITLES.get(status, "Error"),
        "detail": detail,
        "code": code,
        # The request id (also in X-Request-ID), so a user's report can be found in the log.
        "instance": instance or REQUEST_ID.get(),
    }
    if extra:
        body.update(extra)
    headers = dict(headers or {})
    if status == 401 and not any(name.lower() == "www-authenticate" for name in headers):
        headers["WWW-Authenticate"] = BEARER_CHALLENGE
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _request_id(request: Request) -> str:
    return request_id_of(request.scope)


def _api_error(request: Request, exc: ApiError) -> Response:
    extra = dict(exc.extra)
    if exc.field and "field" not in extra:
        extra["field"] = exc.field
    return problem(
        exc.status, exc.detail, code=exc.code, headers=exc.headers, extra=extra, instance=_request_id(request)
    )


def _bad_cursor(request: Request, exc: CursorError) -> Response:
    return _api_error(request, validation_error("cursor", str(exc)))


def _field_of(key: str | None, message: str) -> str | None:
    # Litestar names only the body ("data") for an unknown or missing field; msgspec's message names the field.
    if key and key != "data":
        return key
    # msgspec: "Object missing required field `content`" / "... - at `$.content`"
    match = re.search(r"`\$\.([A-Za-z0-9_.\[\]]+)`", message) or re.search(r"field `([A-Za-z0-9_]+)`", message)
    return match.group(1) if match else key


def _validation_error(request: Request, exc: ValidationException) -> Response:
    raw = exc.extra if isinstance(exc.extra, list) else []
    errors: list[dict[str, Any]] = []
    for item in raw:
        if isinstance(item, dict):
            message = str(item.get("message", exc.detail))
            errors.append(
                {"field": _field_of(item.get("key"), message), "message": message, "source": item.get("source")}
            )
    detail = str(exc.detail)
    if "malformed" in detail.lower() or "json is malformed" in " ".join(e["message"].lower() for e in errors):
        return problem(400, "the request body is not valid JSON", code="bad_request", instance=_request_id(request))
    if not errors:
        errors = [{"field": _field_of(None, detail), "message": detail, "source": "body"}]
    first = errors[0]
    text = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return problem(
        422,
        text,
        code="validation_failed",
        extra={"field": first["field"], "errors": errors},
        instance=_request_id(request),
    )


def _http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    headers = dict(exc.headers or {})
    detail = exc.detail if exc.detail and exc.detail != _TITLES.get(status) else _TITLES.get(status, "Error")
    if isinstance(exc, NotFoundException) and "not found" in detail.lower():
        detail = "not found"
    if status == 413:
        detail = f"the request body is larger than {request.app.state.settings.max_body_size} bytes"
    return problem(status, detail, headers=headers, instance=_request_id(request))


def constraint_problem(constraint: str | None, sqlstate: str | None) -> ApiError | None:
    """The API error for a database integrity error, or None if it is not one we map."""
    if constraint and constraint in CONSTRAINT_ERRORS:
        c = CONSTRAINT_ERRORS[constraint]
        extra = {"errors": [{"field": c.field, "message": c.detail}]} if c.field else None
        return ApiError(c.status, c.detail, code=c.code, field=c.field, extra=extra)
    if sqlstate in _SQLSTATE_FALLBACK:
        status, code, detail = _SQLSTATE_FALLBACK[sqlstate]
        return ApiError(status, detail, code=code)
    return None


# Seconds a client should wait before retrying while the database is out of reach: a
# restart or failover takes seconds; a shorter hint would only add load to the recovery.
DATABASE_RETRY_AFTER = 5
# During an outage every request fails the same way: one log line per this many seconds.
OUTAGE_LOG_EVERY = 10.0


class _OutageLog:
    """Logs "database unavailable" once per OUTAGE_LOG_EVERY seconds with a count, not a
    traceback per request (80 a second in an outage would bury everything else)."""

    def __init__(self) -> None:
        self.last = float("-inf")
        self.suppressed = 0

    def record(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self.last < OUTAGE_LOG_EVERY:
            self.suppressed += 1
            return
        log.warning(
            "database unavailable, answering 503 (%d more since the last report): %s: %s",
            self.suppressed,
            type(exc).__name__,
            exc,
        )
        self.last, self.suppressed = now, 0


_outage_log = _OutageLog()


def _database_unavailable(exc: BaseException) -> Response:
    _outage_log.record(exc)
    return problem(
        503,
        "the database is unavailable; please retry shortly",
        code="database_unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def _database_error(request: Request, exc: asyncpg.PostgresError) -> Response:
    if is_database_unavailable(exc):
        return _database_unavailable(exc)
    mapped = constraint_problem(getattr(exc, "constraint_name", None), getattr(exc, "sqlstate", None))
    if mapped is not None:
        return _api_error(request, mapped)
    return _internal_error(request, exc)


def _argument_error(request: Request, exc: asyncpg.DataError) -> Response:
    """asyncpg refusing a query argument (out of its type's range): input that slipped past
    the decoders' bounds (api/bounds.py). Still the client's value, so a 422, not a 500."""
    log.warning("query argument refused on %s %s: %s", request.method, request.url.path, exc)
    return problem(422, "a value is out of range", code="validation_failed")


def _undecodable_body(_: Request, exc: UnicodeDecodeError) -> Response:
    return problem(400, "the request body is not valid UTF-8", code="bad_request")


def _too_deep(request: Request, exc: RecursionError) -> Response:
    # msgspec's JSON decoder stops at its nesting limit with this error; any other
    # RecursionError is ours.
    if "deserializing" in str(exc):
        return problem(400, "the request body is nested too deeply", code="bad_request")
    return _internal_error(request, exc)


def _connection_error(request: Request, exc: Exception) -> Response:
    """OSError (refused, reset, connect or pool-acquire timeout) and asyncpg's
    InterfaceError and InternalClientError: 503 when it is the database connection
    failing, else a 500."""
    if is_database_unavailable(exc):
        return _database_unavailable(exc)
    return _internal_error(request, exc)


def _internal_error(request: Request, exc: Exception) -> Response:
    request_id = _request_id(request)
    token = REQUEST_ID.set(request_id)  # the log line carries the id the user is shown
    try:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    finally:
        REQUEST_ID.reset(token)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        f"an unexpected error occurred; it has been logged with the request id {request_id}",
        instance=request_id,
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApiError: _api_error,
    ValidationException: _validation_error,
    CursorError: _bad_cursor,
    NotAuthorizedException: _http_error,
    PermissionDeniedException: _http_error,
    HTTPException: _http_error,
    asyncpg.PostgresError: _database_error,
    asyncpg.DataError: _argument_error,
    asyncpg.InterfaceError: _connection_error,
    asyncpg.exceptions.InternalClientError: _connection_error,
    UnicodeDecodeError: _undecodable_body,
    RecursionError: _too_deep,
    OSError: _connection_error,
    Exception: _internal_error,
}

__all__ = ["ApiError", "CONSTRAINT_ERRORS", "EXCEPTION_HANDLERS", "not_found", "problem", "validation_error"]
