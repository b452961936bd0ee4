"""Routes of the dialogue feature: export, message versions, feedback (regenerate and
edit answer like asking, so they live with it in the conversations feature)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, put
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from api.dialogue import schemas, service

Seq = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]


class DialogueController(Controller):
    path = "/conversations/{conversation_id:uuid}"
    tags = ["dialogue"]

    @get(
        "/export",
        summary="Every message of the conversation, as Markdown or JSON, as a file",
        operation_id="exportConversation",
    )
    async def export(
        self,
        request: Request,
        conversation_id: FromPath[UUID],
        format: Annotated[schemas.ExportFormat, QueryParameter(description="markdown or json")] = (
            schemas.ExportFormat.markdown
        ),
    ) -> Response[bytes]:
        conversation = await service.export(request.app.state.pool, request.user.id, conversation_id)
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
    async def versions(self, request: Request, conversation_id: FromPath[UUID], seq: Seq) -> schemas.VersionList:
        return await service.versions(request.app.state.pool, request.user.id, conversation_id, seq)

    @put(
        "/messages/{seq:int}/feedback",
        summary="Rate a reply (one rating per reply version)",
        operation_id="putFeedback",
    )
    async def put_feedback(
        self, request: Request, conversation_id: FromPath[UUID], seq: Seq, data: JSONBody[schemas.FeedbackPut]
    ) -> schemas.Feedback:
        return await service.put_feedback(request.app.state.pool, request.user.id, conversation_id, seq, data)

    @delete("/messages/{seq:int}/feedback", summary="Remove your rating of a reply", operation_id="deleteFeedback")
    async def delete_feedback(self, request: Request, conversation_id: FromPath[UUID], seq: Seq) -> None:
        await service.delete_feedback(request.app.state.pool, request.user.id, conversation_id, seq)
