"""Routes of the search feature.

Plain handlers with full paths: POST on /conversations/{id}/messages and the
/conversations routes belong to the conversations feature; Litestar merges handlers
of different methods on one path.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Request, get
from litestar.params import FromPath, QueryParameter

from api.database import user_reads
from api.search import service
from api.search.schemas import HistoryPage, SearchPage

TAGS = ["search"]
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="page size (default 20, max 100)")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]


@get(
    "/conversations/{conversation_id:uuid}/messages",
    tags=TAGS,
    summary="A page of the conversation's messages, ascending by seq, recent and archived alike",
)
async def conversation_history(
    request: Request,
    conversation_id: FromPath[uuid.UUID],
    before: Annotated[int | None, QueryParameter(ge=1, description="only messages with a smaller seq")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> HistoryPage:
    return await service.history_page(
        # The newest page must show what was just asked (the primary); older pages are
        # immutable once written: the replica serves them (service.history_page).
        user_reads(request, lag_tolerant=before is not None or cursor is not None),
        request.user.id,
        conversation_id,
        before=before,
        cursor=cursor,
        limit=limit,
    )


@get("/search", tags=TAGS, summary="Full-text search over the caller's own messages")
async def search_messages(
    request: Request,
    q: Annotated[str | None, QueryParameter(description='web-search syntax: words, "a phrase", -word, or')] = None,
    conversation_id: Annotated[uuid.UUID | None, QueryParameter(description="only this conversation")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SearchPage:
    return await service.search(
        user_reads(request),
        request.user.id,
        q,
        conversation_id=conversation_id,
        cursor=cursor,
        limit=limit,
    )


ROUTE_HANDLERS = [conversation_history, search_messages]
