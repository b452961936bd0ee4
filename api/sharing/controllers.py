"""Routes of the sharing feature.

Plain handlers with full paths: the /conversations Controller belongs to another
feature, and these routes only hang below it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from api.database import service_db, user_db
from api.sharing import pages, service
from api.sharing.schemas import (
    ShareAnalytics,
    ShareCreate,
    ShareCreated,
    SharedConversation,
    ShareList,
)

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
SHARED_VIEW = "shared link: an anonymous visitor reads one conversation by its token"

TAGS = ["sharing"]
# The public view is private data that is counted per request: no caching anywhere, no
# search indexing, and no Referer (which would carry the token) to links in the page.
_PUBLIC_VIEW_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


@post(
    "/conversations/{conversation_id:uuid}/shares",
    status_code=201,
    tags=TAGS,
    summary="Share a conversation as it is now (the token is shown only in this answer)",
)
async def create_share(
    request: Request, conversation_id: FromPath[uuid.UUID], data: JSONBody[ShareCreate]
) -> ShareCreated:
    settings = request.app.state.settings
    base_url = settings.public_url or str(request.base_url)
    return await service.create_share(user_db(request), settings, request.user.id, conversation_id, data, base_url)


@get("/conversations/{conversation_id:uuid}/shares", tags=TAGS, summary="The share links of a conversation")
async def list_shares(
    request: Request,
    conversation_id: FromPath[uuid.UUID],
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, QueryParameter()] = None,
) -> ShareList:
    return await service.list_shares(user_db(request), request.user.id, conversation_id, limit, cursor)


@delete("/shares/{share_id:uuid}", tags=TAGS, summary="Revoke a share link")
async def revoke_share(request: Request, share_id: FromPath[uuid.UUID]) -> None:
    await service.revoke_share(user_db(request), request.user.id, share_id)


@get("/shares/{share_id:uuid}/analytics", tags=TAGS, summary="Views of a share link")
async def share_analytics(request: Request, share_id: FromPath[uuid.UUID]) -> ShareAnalytics:
    return await service.share_analytics(user_db(request), request.user.id, share_id)


@get(
    "/shared/{token:str}",
    tags=TAGS,
    security=[{}],
    summary="The shared conversation (public; each 200 counts a view); a page for browsers (Accept: text/html)",
)
async def view_shared(
    request: Request,
    token: FromPath[str],
    password: Annotated[str | None, HeaderParameter(name="X-Share-Password")] = None,
) -> Response[SharedConversation] | Response[str]:
    if pages.wants_html(request):
        return await pages.shared_page(request, token, password)
    address = request.client.host if request.client else ""
    shared = await service.view_share(
        service_db(request, SHARED_VIEW),
        request.app.state.settings,
        token,
        password,
        address,
        request.headers.get("referer"),
    )
    # Browsers get a page from the same URL: caches must keep the two apart.
    vary = {"Vary": "Accept"} if request.app.state.settings.web_client else {}
    return Response(shared, headers={**_PUBLIC_VIEW_HEADERS, **vary})


ROUTE_HANDLERS = [create_share, list_shares, revoke_share, share_analytics, view_shared, pages.unlock_shared_page]
