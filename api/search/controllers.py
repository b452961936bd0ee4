"""Routes of the search feature: full-text search over the caller's own messages. (A
conversation's history, GET /conversations/{id}/messages, is the conversations feature's.)"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.types import ControllerRouterHandler

from api.paging import DEFAULT_LIMIT, DescribedCursor, DescribedLimit
from api.search import service
from api.search.schemas import SearchPage
from core.database.gateway import Db


class SearchController(Controller):
    path = "/search"
    tags = ["search"]

    @get("/", summary="Full-text search over the caller's own messages")
    async def search(
        self,
        request: Request,
        db: NamedDependency[Db],
        q: Annotated[str | None, QueryParameter(description='web-search syntax: words, "a phrase", -word, or')] = None,
        conversation_id: Annotated[uuid.UUID | None, QueryParameter(description="only this conversation")] = None,
        limit: DescribedLimit = DEFAULT_LIMIT,
        cursor: DescribedCursor = None,
    ) -> SearchPage:
        return await service.search(db, request.user.id, q, conversation_id=conversation_id, cursor=cursor, limit=limit)


ROUTE_HANDLERS: list[ControllerRouterHandler] = [SearchController]
