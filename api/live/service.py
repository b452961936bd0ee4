"""The events of one live view of a request (GET /queue/{id}/events and the streaming ask).

A view is a cursor (attempt, offset: the characters of that attempt's text the client
holds) moved by what it learns: the request's state read from the database, pieces from
the relay, and polls. Event ids are "<attempt>-<offset>" after the event, so a client
that reconnects with Last-Event-ID continues exactly where it stopped, on any process.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import anyio
import asyncpg
from litestar.response import ServerSentEvent
from litestar.response.base import ASGIResponse
from litestar.response.sse import ServerSentEventMessage

from api.errors import ApiError, not_found, validation_error
from api.live.relay import Hub, Item, Polled
from core.database.gateway import Db
from core.settings import Settings
from db.stream_channel import Piece

_EVENT_ID = re.compile(r"(\d{1,9})-(\d{1,9})")
FINISHED = ("completed", "failed", "cancelled")
# Headers that keep proxies from buffering the stream (ServerSentEvent adds Cache-Control
# no-cache, Connection keep-alive and X-Accel-Buffering no).
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def parse_last_event_id(raw: str | None) -> tuple[int, int]:
    if raw is None or raw.strip() == "":
        return 0, 0
    match = _EVENT_ID.fullmatch(raw.strip())
    if match is None:
        raise validation_error("Last-Event-ID", "not an event id of this stream (expected <attempt>-<offset>)")
    return int(match[1]), int(match[2])


class Out(NamedTuple):
    """An event to send: its kind, its data and its id."""

    kind: str
    data: dict
    id: str


def event(kind: str, data: dict, attempt: int, offset: int) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=kind, data=json.dumps(data, ensure_ascii=False), id=f"{attempt}-{offset}")


def encode(outs: list[Out]) -> list[ServerSentEventMessage]:
    """The events, consecutive deltas merged into one (the id of the last): a client that
    fell behind, or a burst of pieces, costs one event, not many."""
    merged: list[Out] = []
    for out in outs:
        if merged and out.kind == merged[-1].kind == "delta":
            merged[-1] = Out("delta", {"text": merged[-1].data["text"] + out.data["text"]}, out.id)
        else:
            merged.append(out)
    return [ServerSentEventMessage(event=o.kind, data=json.dumps(o.data, ensure_ascii=False), id=o.id) for o in merged]


class LiveView:
    def __init__(self, request_id: str, attempt: int, offset: int) -> None:
        self.request_id = request_id
        self.attempt, self.offset = attempt, offset
        self.status: str | None = None
        self.position: int | None = None
        self.ended = False

    def _event(self, kind: str, data: dict) -> Out:
        return Out(kind, data, f"{self.attempt}-{self.offset}")

    def status_event(self, status: str, position: int | None) -> list[Out]:
        if (status, position) == (self.status, self.position):
            return []
        self.status, self.position = status, position
        return [self._event("status", {"status": status, "position": position})]

    def text(self, attempt: int, start: int, text: str) -> list[Out] | None:
        """Events for `text`, characters start.. of `attempt`; None when it starts past what
        the client holds (a gap: the caller reads the missing text from the table)."""
        if attempt < self.attempt:
            return []  # a stale piece of an attempt that was given up
        if start > self.held(attempt):
            return None
        out: list[Out] = []
        if attempt > self.attempt:
            had_text = self.offset > 0
            self.attempt, self.offset = attempt, 0
            if had_text:
                out.append(self._event("reset", {}))
        end = start + len(text)
        if end > self.offset:
            piece = text[self.offset - start :]
            self.offset = end
            out.append(self._event("delta", {"text": piece}))
        return out

    def held(self, attempt: int) -> int:
        """How many characters of `attempt` the client holds."""
        return self.offset if attempt == self.attempt else 0

    def state(self, row: asyncpg.Record) -> list[Out]:
        """Events that bring the client to the request's state `row` (conversations_queue_status)."""
        status = row["status"]
        if status == "pending":
            return self.status_event("pending", row["position"])
        if status == "processing":
            out = self.status_event("processing", None)
            caught_up = self.text(row["attempts"], 0, row["partial"] or "")
            return out + (caught_up or [])
        self.ended = True
        if status == "completed":
            content = row["reply_content"] or ""
            out = self.text(row["attempts"], 0, content) or []
            if self.attempt != row["attempts"]:  # the client claimed a later attempt: start over
                self.attempt, self.offset = row["attempts"], 0
                out += [self._event("reset", {}), *(self.text(row["attempts"], 0, content) or [])]
            reply = {
                "seq": row["reply_seq"],
                "content": content,
                "prompt_tokens": row["prompt_tokens"],
                "completion_tokens": row["completion_tokens"],
                "stopped": row["stopped"],
            }
            return out + [self._event("done", {"request_id": self.request_id, "status": "completed", "reply": reply})]
        if status == "failed":
            return [self._event("failed", {"request_id": self.request_id, "status": "failed", "error": row["error"]})]
        return [self._event("cancelled", {"request_id": self.request_id, "status": "cancelled"})]


async def request_state(db: Db, user_id: str, request_id: str) -> asyncpg.Record:
    row = await db.fetchrow("conversations_queue_status", request_id=request_id, user_id=user_id)
    if row is None:
        raise not_found("request")
    return row


class LiveStream(ServerSentEvent):
    """A server-sent event response that ends at once when `dropped` is set (a client that
    does not read: its writes are stuck, so only cancelling them frees its connection)."""

    def __init__(self, content: AsyncIterator[ServerSentEventMessage], dropped: asyncio.Event, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.dropped = dropped

    def to_asgi_response(self, app: Any, request: Any, **kwargs: Any) -> Any:
        return _Droppable(super().to_asgi_response(app, request, **kwargs), self.dropped)


class _Droppable:
    def __init__(self, response: ASGIResponse, dropped: asyncio.Event) -> None:
        self.response, self.dropped = response, dropped

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async with anyio.create_task_group() as group:

            async def respond() -> None:
                await self.response(scope, receive, send)
                group.cancel_scope.cancel()

            group.start_soon(respond)
            await self.dropped.wait()
            # Cut off: the server closes the connection (the response never completed).
            group.cancel_scope.cancel()


def stream_response(
    db: Db,
    hub: Hub,
    settings: Settings,
    user_id: str,
    request_id: str,
    cursor: tuple[int, int],
    first: list[ServerSentEventMessage] | None = None,
    status_code: int = 200,
) -> ServerSentEvent:
    """The SSE response of a view of request `request_id` (already known to be the user's)."""
    dropped = asyncio.Event()
    return LiveStream(
        _events(db, hub, settings, user_id, request_id, cursor, first or [], dropped),
        dropped,
        headers=SSE_HEADERS,
        status_code=status_code,
    )


async def _events(
    db: Db,
    hub: Hub,
    settings: Settings,
    user_id: str,
    request_id: str,
    cursor: tuple[int, int],
    first: list[ServerSentEventMessage],
    dropped: asyncio.Event,
) -> AsyncIterator[ServerSentEventMessage]:
    view = LiveView(request_id, *cursor)
    # Subscribed before the state is read: nothing committed after the read is missed.
    sub = hub.subscribe(request_id, dropped)
    try:
        for message in first:
            yield message
        try:
            row = await request_state(db, user_id, request_id)
        except ApiError:
            return  # deleted with its conversation meanwhile
        for message in encode(view.state(row)):
            yield message
        while not view.ended:
            try:
                item = await asyncio.wait_for(sub.queue.get(), settings.live_heartbeat)
            except TimeoutError:
                yield ServerSentEventMessage(comment="keep-alive", data=None)
                continue
            outs = await _apply(view, item, db, user_id)
            # Whatever else has arrived goes out with it.
            while outs is not None and not view.ended and not sub.queue.empty():
                more = await _apply(view, sub.queue.get_nowait(), db, user_id)
                outs = None if more is None else outs + more
            if outs is None:
                return  # deleted with its conversation meanwhile
            for message in encode(outs):
                yield message
    finally:
        hub.unsubscribe(sub)


async def _apply(view: LiveView, item: Item, db: Db, user_id: str) -> list[Out] | None:
    """What `item` means for the client of `view`; None when the request is gone."""
    if isinstance(item, Piece):
        # The status first: an event's id must never claim text sent after it.
        out = view.status_event("processing", None) if view.status != "processing" else []
        more = view.text(item.attempt, item.offset, item.text)
        if more is None:  # missed pieces: the table has them
            start = view.held(item.attempt)
            missing = await db.fetchval(
                "conversations_stream_pieces", request_id=view.request_id, attempt=item.attempt, from_offset=start
            )
            more = view.text(item.attempt, start, missing) or []
        return out + more
    if isinstance(item, Polled) and item.status == view.status == "pending":
        return view.status_event("pending", item.position)
    if isinstance(item, Polled) and item.status == view.status and item.attempts <= view.attempt:
        return []
    # A state change, or a poll that shows one: read the whole state.
    try:
        row = await request_state(db, user_id, view.request_id)
    except ApiError:
        return None
    return view.state(row)
