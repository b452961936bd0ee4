"""Routes: conversations, their history, asking a question, the queue."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import ServerSentEvent
from litestar.types import ControllerRouterHandler

from api.conversations import schemas, service
from api.live import service as live
from api.paging import DEFAULT_LIMIT, Cursor, DescribedCursor, DescribedLimit, Limit
from api.security import STATUS_CHECKED_BY_HANDLER, requires_admin
from core.database.gateway import Db

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
QUEUE_TOTALS = "admin: queue totals across all users"


class ConversationController(Controller):
    path = "/conversations"
    tags = ["conversations"]

    @post("/", summary="Start a conversation (the default technique when none is given)")
    async def create(
        self, request: Request, db: NamedDependency[Db], data: JSONBody[schemas.ConversationCreate]
    ) -> schemas.Conversation:
        return await service.create_conversation(db, request.user.id, data)

    @get("/", summary="The caller's conversations, most recently active first")
    async def list(
        self, request: Request, db: NamedDependency[Db], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> schemas.ConversationPage:
        return await service.list_conversations(db, request.user.id, limit, cursor)

    @get("/{conversation_id:uuid}", summary="A conversation with its recent messages")
    async def detail(
        self, request: Request, db: NamedDependency[Db], conversation_id: FromPath[UUID]
    ) -> schemas.ConversationDetail:
        return await service.get_conversation(db, request.user.id, str(conversation_id))

    @patch("/{conversation_id:uuid}", summary="Rename a conversation or change its technique")
    async def update(
        self,
        request: Request,
        db: NamedDependency[Db],
        conversation_id: FromPath[UUID],
        data: JSONBody[schemas.ConversationUpdate],
    ) -> schemas.Conversation:
        return await service.update_conversation(db, request.user.id, str(conversation_id), data)

    @delete("/{conversation_id:uuid}", summary="Delete a conversation, its messages and its pending requests")
    async def remove(self, request: Request, db: NamedDependency[Db], conversation_id: FromPath[UUID]) -> None:
        await service.delete_conversation(db, request.user.id, str(conversation_id))

    @get(
        "/{conversation_id:uuid}/messages",
        tags=["search"],
        summary="A page of the conversation's messages, ascending by seq, recent and archived alike",
    )
    async def history(
        self,
        request: Request,
        db: NamedDependency[Db],
        conversation_id: FromPath[UUID],
        before: Annotated[int | None, QueryParameter(ge=1, description="only messages with a smaller seq")] = None,
        limit: DescribedLimit = DEFAULT_LIMIT,
        cursor: DescribedCursor = None,
    ) -> schemas.HistoryPage:
        return await service.history_page(
            db, request.user.id, conversation_id, before=before, cursor=cursor, limit=limit
        )

    # The hot path: the user's status is checked by the submitting SQL function itself (service.submit_question).
    @post(
        "/{conversation_id:uuid}/messages",
        status_code=202,
        opt={STATUS_CHECKED_BY_HANDLER: True},
        summary="Ask a question: rate limits, quota, message, queue row and job in one transaction; "
        "with Accept: text/event-stream, 200 and the request's events (GET /queue/{id}/events)",
    )
    async def ask(
        self,
        request: Request,
        db: NamedDependency[Db],
        conversation_id: FromPath[UUID],
        data: JSONBody[schemas.QuestionCreate],
    ) -> Response[schemas.QuestionAccepted] | ServerSentEvent:
        state = request.app.state
        accepted = await service.submit_question(
            state.accepts, state.waker, request.user.id, str(conversation_id), data.content
        )
        headers = {"Location": f"/queue/{accepted.request_id}"}
        if "text/event-stream" in request.headers.get("accept", ""):
            first = live.event(
                "accepted",
                {"request_id": accepted.request_id, "position": accepted.position, "message_seq": accepted.message_seq},
                0,
                0,
            )
            response = live.stream_response(
                db, state.live, state.settings, request.user.id, accepted.request_id, (0, 0), [first]
            )
            response.headers.update(headers)
            return response
        return Response(accepted, status_code=202, headers=headers)


class QueueController(Controller):
    path = "/queue"
    tags = ["conversations"]

    @get("/{request_id:uuid}", summary="Where a question stands, and its reply")
    async def status(
        self, request: Request, db: NamedDependency[Db], request_id: FromPath[UUID]
    ) -> schemas.QueueStatus:
        return await service.queue_status(db, request.user.id, str(request_id))


class AdminQueueController(Controller):
    path = "/admin/queue"
    tags = ["admin"]

    @get("/", guards=[requires_admin], summary="The request queue at a glance")
    async def overview(self, db: NamedDependency[Db]) -> schemas.QueueOverview:
        return await service.queue_overview(db.as_service(QUEUE_TOTALS))


ROUTE_HANDLERS: list[ControllerRouterHandler] = [ConversationController, QueueController, AdminQueueController]
