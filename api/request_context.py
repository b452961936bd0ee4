"""What every request gets before its handler runs: an id, and a check that its body is JSON.

Request ids: a client's `X-Request-ID` is kept when it is a sane token (1 to 128 of
`A-Z a-z 0-9 . _ : - + / = @`), otherwise a new one is made. The id is answered in
`X-Request-ID` on every response (404s and 500s included: the header is added by a
`before_send` hook, which sees the messages of the exception handlers too), tags every
log line written while the request runs (core.logs.REQUEST_ID) and is the `instance`
of every problem+json answer, so a user's report can be matched to the log.

Bodies: the body size limit (413, checked against Content-Length before anything is
read, and against the bytes received for streamed bodies) is Litestar's
`request_max_body_size`, set from MUKTI_MAX_BODY_SIZE in create_app.
"""

from __future__ import annotations

import re
import uuid

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import REQUEST_ID

HEADER = "x-request-id"
_SCOPE_KEY = "mukti.request_id"
_SANE = re.compile(r"[A-Za-z0-9._:\-+/=@]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The id of this request: the client's when sane, else a new one; fixed on first use."""
    rid = scope.get(_SCOPE_KEY)
    if not isinstance(rid, str):
        incoming = next(
            (value.decode("latin-1") for name, value in scope.get("headers", ()) if name == HEADER.encode()), ""
        )
        rid = incoming if _SANE.fullmatch(incoming) else uuid.uuid4().hex
        scope[_SCOPE_KEY] = rid  # type: ignore[literal-required]
    return rid


def request_id_middleware_factory(app: ASGIApp) -> ASGIApp:
    """Binds the request id to the log context for the whole request (middleware, handler, errors)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        token = REQUEST_ID.set(request_id_of(scope))
        try:
            await app(scope, receive, send)
        finally:
            REQUEST_ID.reset(token)

    return middleware


async def send_request_id(message: Message, scope: Scope) -> None:
    """`before_send` hook: the id goes out on every HTTP response."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[HEADER] = request_id_of(scope)


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def require_json_body(request: Request) -> None:
    """`before_request` hook: a body that is not declared as JSON is refused (415) before it is read."""
    if request.method not in _BODY_METHODS or not request.route_handler.include_in_schema:
        return  # the web client's pages (not API operations) take HTML form posts
    headers = request.headers
    has_body = headers.get("content-length", "0") != "0" or "chunked" in headers.get("transfer-encoding", "")
    if has_body and not _is_json(headers.get("content-type", "")):
        # An HTTPException, not an ApiError: api.errors imports this module (its code comes from the status).
        raise HTTPException(
            status_code=415, detail="the request body must be JSON, sent with Content-Type: application/json"
        )
