"""Routes of the sharing feature: a conversation's share links, and the public view.

The links of one conversation hang below /conversations/{conversation_id}, whose own
Controller belongs to another feature; this one only adds /shares there.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, HeaderParameter, JSONBody
from litestar.types import ControllerRouterHandler

from api.errors import ApiError
from api.paging import DEFAULT_LIMIT, Cursor, Limit
from api.sharing import pages, service
from api.sharing.schemas import (
    ShareAnalytics,
    ShareCreate,
    ShareCreated,
    SharedConversation,
    ShareList,
)
from core.database.gateway import Db

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
SHARED_VIEW = "shared link: an anonymous visitor reads one conversation by its token"
PAGE_VIEW = "shared link page: an anonymous visitor's browser reads one conversation by its token"

TAGS = ["sharing"]
# The public view is private data that is counted per request: no caching anywhere, no
# search indexing, and no Referer (which would carry the token) to links in the page.
_PUBLIC_VIEW_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


class ConversationSharesController(Controller):
    path = "/conversations/{conversation_id:uuid}/shares"
    tags = TAGS

    @post("/", status_code=201, summary="Share a conversation as it is now (the token is shown only in this answer)")
    async def create(
        self,
        request: Request,
        db: NamedDependency[Db],
        conversation_id: FromPath[uuid.UUID],
        data: JSONBody[ShareCreate],
    ) -> ShareCreated:
        settings = request.app.state.settings
        base_url = settings.public_url or str(request.base_url)
        return await service.create_share(db, settings, request.user.id, conversation_id, data, base_url)

    @get("/", summary="The share links of a conversation")
    async def list(
        self,
        request: Request,
        db: NamedDependency[Db],
        conversation_id: FromPath[uuid.UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> ShareList:
        return await service.list_shares(db, request.user.id, conversation_id, limit, cursor)


class SharesController(Controller):
    path = "/shares"
    tags = TAGS

    @delete("/{share_id:uuid}", summary="Revoke a share link")
    async def revoke(self, request: Request, db: NamedDependency[Db], share_id: FromPath[uuid.UUID]) -> None:
        await service.revoke_share(db, request.user.id, share_id)

    @get("/{share_id:uuid}/analytics", summary="Views of a share link")
    async def analytics(
        self, request: Request, db: NamedDependency[Db], share_id: FromPath[uuid.UUID]
    ) -> ShareAnalytics:
        return await service.share_analytics(db, request.user.id, share_id)


def _view(request: Request, db: Db, token: str, password: str | None) -> Awaitable[SharedConversation]:
    """One view of a shared conversation by `request`'s visitor, counted once it succeeds."""
    address = request.client.host if request.client else ""
    return service.view_share(db, request.app.state.settings, token, password, address, request.headers.get("referer"))


class SharedController(Controller):
    """The public view: JSON for API clients, a page for browsers (api/sharing/pages.py)."""

    path = "/shared"
    tags = TAGS
    security = [{}]

    @get(
        "/{token:str}",
        summary="The shared conversation (public; each 200 counts a view); a page for browsers (Accept: text/html)",
    )
    async def view(
        self,
        request: Request,
        db: NamedDependency[Db],
        token: FromPath[str],
        password: Annotated[str | None, HeaderParameter(name="X-Share-Password")] = None,
    ) -> Response[SharedConversation] | Response[str]:
        if pages.wants_html(request):
            return await pages.shared_page(_view(request, db.as_service(PAGE_VIEW), token, password), password)
        shared = await _view(request, db.as_service(SHARED_VIEW), token, password)
        # Browsers get a page from the same URL: caches must keep the two apart.
        vary = {"Vary": "Accept"} if request.app.state.settings.web_client else {}
        return Response(shared, headers={**_PUBLIC_VIEW_HEADERS, **vary})

    @post("/{token:str}", status_code=200, include_in_schema=False)
    async def unlock(
        self,
        request: Request,
        db: NamedDependency[Db],
        token: FromPath[str],
        data: Annotated[pages.PasswordForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[str]:
        """The password form of a protected share page (browsers only; API clients send
        X-Share-Password with GET)."""
        if not request.app.state.settings.web_client:
            raise ApiError(404, "not found", code="not_found")
        password = data.password or None
        return await pages.shared_page(_view(request, db.as_service(PAGE_VIEW), token, password), password)


ROUTE_HANDLERS: list[ControllerRouterHandler] = [ConversationSharesController, SharesController, SharedController]
