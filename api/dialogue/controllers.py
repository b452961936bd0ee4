"""Routes of the dialogue feature: regenerate and edit (they answer like asking: 202 and a
queue entry), export, message versions, feedback."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.types import ControllerRouterHandler

from api.conversations import service as conversations
from api.conversations.schemas import QuestionAccepted
from api.dialogue import schemas, service
from api.errors import not_found
from api.security import STATUS_CHECKED_BY_HANDLER
from core.database.gateway import Db

Seq = Annotated[int, PathParameter(description="the message's seq (1 = the first message)")]
MAX_SEQ = 2**31 - 1  # seq is an integer column: a larger number names no message


def _seq(seq: int) -> int:
    if not 1 <= seq <= MAX_SEQ:
        raise not_found("message")
    return seq


async def _resubmit(
    request: Request, conversation_id: UUID, content: str | None, *, mode: str, seq: int | None = None
) -> Response[QuestionAccepted]:
    """Regenerate and edit go through the question flow and answer as asking does: 202, the
    queue entry in Location."""
    accepted = await conversations.submit_question(
        request.app.state.accepts,
        request.app.state.waker,
        request.user.id,
        str(conversation_id),
        content,
        mode=mode,
        seq=seq,
    )
    return Response(accepted, status_code=202, headers={"Location": f"/queue/{accepted.request_id}"})


class DialogueController(Controller):
    path = "/conversations/{conversation_id:uuid}"
    tags = ["dialogue"]

    # Like asking: the SQL function checks the user's status, the limits and the conversation.
    @post(
        "/regenerate",
        status_code=202,
        opt={STATUS_CHECKED_BY_HANDLER: True},
        summary="Ask again for the last reply: a new version of it, counted against the limits",
        operation_id="regenerateReply",
    )
    async def regenerate(self, request: Request, conversation_id: FromPath[UUID]) -> Response[QuestionAccepted]:
        return await _resubmit(request, conversation_id, None, mode="regenerate")

    @patch(
        "/messages/{seq:int}",
        status_code=202,
        opt={STATUS_CHECKED_BY_HANDLER: True},
        summary="Edit the last question once its reply is finished: the old text stays a version, a new reply follows",
        operation_id="editQuestion",
    )
    async def edit(
        self,
        request: Request,
        conversation_id: FromPath[UUID],
        seq: Seq,
        data: JSONBody[schemas.QuestionEdit],
    ) -> Response[QuestionAccepted]:
        return await _resubmit(request, conversation_id, data.content, mode="edit", seq=_seq(seq))

    @get(
        "/export",
        summary="Every message of the conversation, as Markdown or JSON, as a file",
        operation_id="exportConversation",
    )
    async def export(
        self,
        request: Request,
        db: NamedDependency[Db],
        conversation_id: FromPath[UUID],
        format: Annotated[schemas.ExportFormat, QueryParameter(description="markdown or json")] = (
            schemas.ExportFormat.markdown
        ),
    ) -> Response[bytes]:
        conversation = await service.export(db, request.user.id, conversation_id)
        if format is schemas.ExportFormat.json:
            body, media_type, extension = msgspec.json.encode(conversation), "application/json", "json"
        else:
            body, media_type, extension = (
                service.as_markdown(conversation).encode(),
                "text/markdown; charset=utf-8",
                "md",
            )
        name = service.file_name(conversation.title, extension)
        return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get(
        "/messages/{seq:int}/versions",
        summary="Every version of a message, oldest first",
        operation_id="listMessageVersions",
    )
    async def versions(
        self, request: Request, db: NamedDependency[Db], conversation_id: FromPath[UUID], seq: Seq
    ) -> schemas.VersionList:
        return await service.versions(db, request.user.id, conversation_id, _seq(seq))

    @put(
        "/messages/{seq:int}/feedback",
        summary="Rate a reply (one rating per reply version)",
        operation_id="putFeedback",
    )
    async def put_feedback(
        self,
        request: Request,
        db: NamedDependency[Db],
        conversation_id: FromPath[UUID],
        seq: Seq,
        data: JSONBody[schemas.FeedbackPut],
    ) -> schemas.Feedback:
        return await service.put_feedback(db, request.user.id, conversation_id, _seq(seq), data)

    @delete("/messages/{seq:int}/feedback", summary="Remove your rating of a reply", operation_id="deleteFeedback")
    async def delete_feedback(
        self, request: Request, db: NamedDependency[Db], conversation_id: FromPath[UUID], seq: Seq
    ) -> None:
        await service.delete_feedback(db, request.user.id, conversation_id, _seq(seq))


ROUTE_HANDLERS: list[ControllerRouterHandler] = [DialogueController]
