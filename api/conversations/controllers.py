"""Routes: conversations, asking a question, the queue."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import ServerSentEvent

from api.conversations import schemas, service
from api.database import service_db, user_db
from api.live import service as live
from api.security import STATUS_CHECKED_BY_HANDLER, requires_admin

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
QUEUE_TOTALS = "admin: queue totals across all users"

Limit = Annotated[int, QueryParameter(ge=1, le=service.MAX_LIMIT)]


class ConversationController(Controller):
    path = "/conversations"
    tags = ["conversations"]

    @post("/", summary="Start a conversation (the default technique when none is given)")
    async def create(self, request: Request, data: JSONBody[schemas.ConversationCreate]) -> schemas.Conversation:
        return await service.create_conversation(user_db(request), request.user.id, data)

    @get("/", summary="The caller's conversations, most recently active first")
    async def list(
        self, request: Request, limit: Limit = 20, cursor: FromQuery[str | None] = None
    ) -> schemas.ConversationPage:
        return await service.list_conversations(user_db(request), request.user.id, limit, cursor)

    @get("/{conversation_id:uuid}", summary="A conversation with its recent messages")
    async def get(self, request: Request, conversation_id: FromPath[UUID]) -> schemas.ConversationDetail:
        return await service.get_conversation(user_db(request), request.user.id, str(conversation_id))

    @patch("/{conversation_id:uuid}", summary="Rename a conversation or change its technique")
    async def update(
        self, request: Request, conversation_id: FromPath[UUID], data: JSONBody[schemas.ConversationUpdate]
    ) -> schemas.Conversation:
        return await service.update_conversation(user_db(request), request.user.id, str(conversation_id), data)

    @delete("/{conversation_id:uuid}", summary="Delete a conversation, its messages and its pending requests")
    async def remove(self, request: Request, conversation_id: FromPath[UUID]) -> None:
        await service.delete_conversation(user_db(request), request.user.id, str(conversation_id))

    # The hot path: the user's status is checked by mukti_submit_question_v2 itself.
    @post(
        "/{conversation_id:uuid}/messages",
        status_code=202,
        opt={STATUS_CHECKED_BY_HANDLER: True},
        summary="Ask a question: rate limits, quota, message, queue row and job in one transaction; "
        "with Accept: text/event-stream, 200 and the request's events (GET /queue/{id}/events)",
    )
    async def ask(
        self, request: Request, conversation_id: FromPath[UUID], data: JSONBody[schemas.QuestionCreate]
    ) -> Response[schemas.QuestionAccepted] | ServerSentEvent:
        state = request.app.state
        accepted = await service.submit_question(
            user_db(request), state.settings, state.waker, request.user.id, str(conversation_id), data.content
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
                user_db(request), state.live, state.settings, request.user.id, accepted.request_id, (0, 0), [first]
            )
            response.headers.update(headers)
            return response
        return Response(accepted, status_code=202, headers=headers)


@get("/queue/{request_id:uuid}", tags=["conversations"], summary="Where a question stands, and its reply")
async def queue_status(request: Request, request_id: FromPath[UUID]) -> schemas.QueueStatus:
    return await service.queue_status(user_db(request), request.user.id, str(request_id))


@get("/admin/queue", tags=["admin"], guards=[requires_admin], summary="The request queue at a glance")
async def admin_queue(request: Request) -> schemas.QueueOverview:
    return await service.queue_overview(service_db(request, QUEUE_TOTALS))
