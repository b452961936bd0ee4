"""The API's half of live answers: one LISTEN per process, fanned out to its SSE clients.

Design (the worker's half, which writes the text, is jobs/relay.py; the wire format is
db/stream_channel.py):
- Each API process holds one dedicated connection (not from the pool: LISTEN is session
  state, and a pooler in transaction mode cannot carry it) that LISTENs on mukti_stream.
  Every notification is unpacked once and handed to the clients of this process that
  watch the requests it names; others' requests cost a dictionary lookup.
- Nothing that matters lives only here: the text so far is in request_stream_chunks,
  states in request_queue, replies in the messages. A client's position is its event id
  (attempt and character offset), so it can resume on any process; a notification missed
  (a gap in the offsets, a reconnect of the LISTEN connection) is made good by reading
  the table.
- Each client has a bounded queue. A client that does not read fills it and is dropped
  (its response is cut off, which closes the connection: api/live/service.py); it can reconnect with
  Last-Event-ID and resume. Memory per client is bounded by the queue and the server's
  write buffer.
- A poll every `live_poll_interval` seconds (one query for all watched requests) sends
  position updates of pending requests and catches any state change a notification
  missed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncpg

from core.database.gateway import Db
from core.settings import Settings
from core.tasks import BackgroundTasks
from db.stream_channel import CHANNEL, Piece, StateChanged, unpack

log = logging.getLogger("mukti.live")


@dataclass(frozen=True, slots=True)
class Polled:
    """Where a watched request stood at the last poll."""

    request_id: str
    status: str
    attempts: int
    position: int | None


Item = Piece | StateChanged | Polled


class Subscription:
    __slots__ = ("request_id", "queue", "dropped")

    def __init__(self, request_id: str, size: int, dropped: asyncio.Event) -> None:
        self.request_id = request_id
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=size)
        # Set when the client fell too far behind: its response ends at once.
        self.dropped = dropped


class Hub:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._settings = settings
        # The poll looks at requests of every user watched through this process.
        self._db = Db(pool).as_service("live answers: where the watched requests stand")
        self._subs: dict[str, set[Subscription]] = {}
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._loops = BackgroundTasks()

    async def start(self) -> None:
        await self._connect()
        self._loops.start("live-listener", self._keep_listening())
        self._loops.start("live-poll", self._poll())

    async def stop(self) -> None:
        await self._loops.stop()
        if self._conn is not None:
            self._conn.terminate()

    def subscribe(self, request_id: str, dropped: asyncio.Event | None = None) -> Subscription:
        sub = Subscription(request_id, self._settings.live_client_queue, dropped or asyncio.Event())
        self._subs.setdefault(request_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.request_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.request_id]

    def _deliver(self, request_id: str, item: Item) -> None:
        for sub in list(self._subs.get(request_id, ())):
            try:
                sub.queue.put_nowait(item)
            except asyncio.QueueFull:
                self.unsubscribe(sub)
                sub.dropped.set()
                log.info("dropped a client of request %s that does not read", request_id)

    def _on_notify(self, _conn, _pid, _channel, payload: str) -> None:
        for item in unpack(payload):
            if item.request_id in self._subs:
                self._deliver(item.request_id, item)

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            # LISTEN is session state: a direct connection, never through a transaction pooler.
            self._settings.require_direct_database_url(),
            server_settings={"application_name": "mukti-api-live"},
        )
        await conn.add_listener(CHANNEL, self._on_notify)
        conn.add_termination_listener(lambda _conn: self._lost.set())
        self._conn = conn
        self._lost.clear()

    async def _keep_listening(self) -> None:
        """Reconnect when the LISTEN connection is lost; then every client re-reads its state
        (what was notified meanwhile is in the tables)."""
        while True:
            await self._lost.wait()
            log.warning("the listening connection was lost; reconnecting")
            delay = 0.1
            while True:
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("reconnecting the listening connection failed (%s); retrying in %.1f s", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5)
            for request_id in list(self._subs):
                self._deliver(request_id, StateChanged(request_id))

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._settings.live_poll_interval)
            if not self._subs:
                continue
            try:
                rows = await self._db.fetch("conversations_poll_requests", request_ids=list(self._subs))
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("polling the watched requests failed: %s", exc)
                continue
            for row in rows:
                self._deliver(
                    row["request_id"], Polled(row["request_id"], row["status"], row["attempts"], row["position"])
                )
