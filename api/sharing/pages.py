"""The shared conversation as a page for visitors' browsers.

`GET /shared/{token}` negotiates: browsers (`Accept: text/html` preferred over JSON) get
this page, API clients the JSON as before. A protected link shows a password form that
POSTs back to the same URL (plain HTML, works without script); the outcomes of the JSON
form (401 wrong or missing password, 429 throttled, 410 gone, 404 unknown) are the
statuses of these pages too, and each page that shows the conversation counts one view,
exactly as a 200 of the JSON form does.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

import msgspec
from litestar import Request, Response

from api.errors import ApiError
from api.sharing.schemas import PASSWORD_MAX_LENGTH, SharedConversation
from api.web.headers import SECURITY_HEADERS
from api.web.templates import Html, join, page, render

# The page is private data counted per request: never cached, never indexed, and no
# Referer (which would carry the token) sent from it.
PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Vary": "Accept",
}
_HTML = "text/html"
_WHO = {"user": "Learner", "assistant": "Mukti", "system": "System"}
_PROBLEMS = {
    404: ("No such link", "This share link does not exist. Check that it was copied whole."),
    410: (
        "This link is no longer available",
        "It has expired, was revoked by its owner, or has been viewed as often as allowed.",
    ),
    429: ("Too many attempts", "Too many wrong passwords were tried for this link. Try again in {retry}."),
}


def wants_html(request: Request) -> bool:
    """Whether the client prefers a page to JSON (browsers do; `*/*` and API clients get JSON)."""
    if not request.app.state.settings.web_client:
        return False
    return request.accept.best_match(["application/json", "text/html"]) == "text/html"


class PasswordForm(msgspec.Struct):
    password: Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX_LENGTH)] = ""


async def shared_page(view: Awaitable[SharedConversation], password: str | None) -> Response[str]:
    """The page of one `view` of a shared conversation (made with `password`, or None):
    the conversation, the password form, or what went wrong."""
    try:
        shared = await view
    except ApiError as exc:
        return _problem_page(exc, password_sent=password is not None)
    return _page(shared.title, _conversation(shared), 200)


def _conversation(shared: SharedConversation) -> Html:
    messages = join(
        render("shared_message.html", role=m.role, seq=m.seq, who=_WHO.get(m.role, m.role), content=m.content)
        for m in shared.messages
    )
    count = len(shared.messages)
    meta = " · ".join(
        part
        for part in (
            f"Technique: {shared.technique}" if shared.technique else "",
            f"{count} message{'s' if count != 1 else ''}",
        )
        if part
    )
    return render("shared.html", title=shared.title, meta=meta, messages=messages)


def _problem_page(exc: ApiError, *, password_sent: bool) -> Response[str]:
    headers = {key: value for key, value in exc.headers.items() if key.lower() == "retry-after"}
    if exc.status == 401:
        error = Html("")
        if password_sent:
            error = render("shared_problem_line.html", text="That password is not right. Try again.")
        return _page("Password required", render("shared_password.html", error=error), 401, headers)
    heading, detail = _PROBLEMS.get(exc.status, ("Something went wrong", exc.detail))
    detail = detail.format(retry=_duration(headers.get("Retry-After")))
    return _page(
        heading, render("shared_problem.html", status=exc.status, heading=heading, detail=detail), exc.status, headers
    )


def _duration(seconds: str | None) -> str:
    value = int(seconds) if seconds and seconds.isdigit() else 60
    if value < 90:
        return f"{value} seconds"
    return f"{round(value / 60)} minutes"


def _page(title: str, body: Html, status: int, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        page(title, body), status_code=status, media_type=_HTML, headers={**PAGE_HEADERS, **(headers or {})}
    )
