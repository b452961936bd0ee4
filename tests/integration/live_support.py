"""Helpers of the live-answers tests: reading server-sent events over real HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import asyncpg
import httpx

from tests.integration.conversations_support import create_conversation


@dataclass
class Event:
    kind: str
    id: str | None
    data: dict | None


@dataclass
class Stream:
    """What a client read from one SSE response."""

    events: list[Event] = field(default_factory=list)
    comments: int = 0

    @property
    def last_id(self) -> str | None:
        return next((e.id for e in reversed(self.events) if e.id is not None), None)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def text(self) -> str:
        """The text a client holds: the deltas since the last reset."""
        text = ""
        for e in self.events:
            if e.kind == "reset":
                text = ""
            elif e.kind == "delta":
                text += e.data["text"]
        return text

    @property
    def final(self) -> Event | None:
        last = self.events[-1] if self.events else None
        return last if last and last.kind in ("done", "failed", "cancelled") else None


async def read_events(response: httpx.Response, stream: Stream | None = None, *, deltas: int | None = None) -> Stream:
    """Read events until the stream ends (or, with `deltas`, until that many deltas came)."""
    stream = stream or Stream()
    kind, event_id, data = "message", None, []
    seen = 0
    async for line in response.aiter_lines():
        if line.startswith(":"):
            stream.comments += 1
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "" and (data or event_id is not None):
            stream.events.append(Event(kind, event_id, json.loads("\n".join(data)) if data else None))
            seen += kind == "delta"
            if stream.final is not None or (deltas is not None and seen >= deltas):
                return stream
            kind, event_id, data = "message", None, []
    return stream


async def stored_reply(db: asyncpg.Connection, request_id: str) -> str | None:
    return await db.fetchval(
        "SELECT content FROM recent_messages WHERE request_id = $1::uuid AND role = 'assistant'", request_id
    )


async def conversations(db: asyncpg.Connection, user_id: str, n: int) -> list[str]:
    return [await create_conversation(db, user_id, f"Dialogue {i}") for i in range(n)]


def sse_headers(user) -> dict[str, str]:
    return {**user.headers, "Accept": "text/event-stream"}
