"""Routes of live answers: a request's events (SSE) and cancelling a request."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import ServerSentEvent
from litestar.types import ControllerRouterHandler

from api.errors import ApiError, not_found
from api.live import schemas
from api.live.service import FINISHED, parse_last_event_id, request_state, stream_response
from core.database.gateway import Db

# How long POST /queue/{id}/cancel waits for a processing request to stop (the worker
# sees the cancel within MUKTI_LIVE_CANCEL_POLL and stores the reply as far as it got).
CANCEL_WAIT = 3.0


class LiveController(Controller):
    path = "/queue/{request_id:uuid}"
    tags = ["conversations"]

    @get(
        "/events",
        summary="The request's events as server-sent events: status, reply text as it is generated, the end",
    )
    async def events(self, request: Request, db: NamedDependency[Db], request_id: FromPath[UUID]) -> ServerSentEvent:
        cursor = parse_last_event_id(request.headers.get("last-event-id"))
        state = request.app.state
        await request_state(db, request.user.id, str(request_id))  # 404 before any event
        return stream_response(db, state.live, state.settings, request.user.id, str(request_id), cursor)

    @post(
        "/cancel",
        status_code=200,
        summary="Cancel a request: a pending one is dropped, a processing one stops and keeps its text",
    )
    async def cancel(
        self, request: Request, db: NamedDependency[Db], request_id: FromPath[UUID]
    ) -> schemas.CancelResult:
        state = request.app.state
        user_id, rid = request.user.id, str(request_id)
        sub = state.live.subscribe(rid)  # before the cancel: its end cannot be missed
        try:
            row = await db.fetchrow("conversations_cancel_request", user_id=user_id, request_id=rid)
            if row is None or row["outcome"] == "not_found":
                raise not_found("request")
            if row["outcome"] == "finished":
                raise ApiError(409, f"the request is already {row['status']}", code="conflict")
            status = row["status"]
            deadline = time.monotonic() + CANCEL_WAIT
            while status not in FINISHED and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(sub.queue.get(), deadline - time.monotonic())
                except TimeoutError:
                    break
                status = (await request_state(db, user_id, rid))["status"]
            return schemas.CancelResult(request_id=rid, status=status)
        finally:
            state.live.unsubscribe(sub)


ROUTE_HANDLERS: list[ControllerRouterHandler] = [LiveController]
