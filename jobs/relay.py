"""The worker's half of live answers: relaying the text of replies as it is generated.

Design (the API's half is api/live/relay.py; the wire format db/stream_channel.py):
- The queue stays the source of truth. The worker produces every answer whether or not
  anyone watches; the relay only makes the text visible before it is stored.
- Each streaming job hands its pieces to the process's one `Relay`. A single writer task,
  on a connection of its own (never queued behind the jobs' queries in the pool), takes
  whatever all streams have gathered and writes it in one statement
  (mukti_stream_append_v1): the pieces as rows of request_stream_chunks (the durable
  text so far, per request and attempt, which readers catch up from) and the same pieces
  packed into a few NOTIFY payloads on channel mukti_stream (the live edge). One commit
  per batch, whatever the number of streams: NOTIFY takes a global lock at commit, so
  notifying commits per second are the budget, and this keeps them at most one per
  `flush_interval` per worker process. A reply's first text is written at once (time to
  first token is what users notice); later pieces wait for the interval, gathering more.
- The final piece is not relayed: the stored reply (mukti_complete_stream_v3) carries
  all the text, and readers take what they miss from it when they see `done`.
- A failed batch write ends the attempts it carried (their relayed text would have a
  gap): they fail and are retried, and their viewers see `reset`.
- Cancels: one query per `cancel_poll` seconds asks which of the process's streaming
  requests their users asked to stop (request_queue.cancel_requested_at); their calls
  stop at once and store the reply as far as it got.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg

from core.database.gateway import Db
from core.tasks import BackgroundTasks
from db.stream_channel import Piece, pack, split_piece

log = logging.getLogger("mukti.relay")


class RelayFailed(Exception):
    """The relay could not write this attempt's text: the attempt must be retried."""


class ReplyStream:
    """One attempt's text on its way to the database."""

    def __init__(self, relay: Relay, request_id: str, attempt: int, user_id: str) -> None:
        self._relay = relay
        self.request_id, self.attempt, self.user_id = request_id, attempt, user_id
        self.offset = 0  # characters handed to the writer so far
        self.pending: list[str] = []
        self.in_flight: asyncio.Future | None = None
        # Set by a cancel (cancel_requested) or a failed write (error): the LLM call stops.
        self.stop = asyncio.Event()
        self.cancel_requested = False
        self.error: Exception | None = None

    def append(self, text: str) -> None:
        self.pending.append(text)
        self._relay.wants_write(self, first=self.offset == 0 and len(self.pending) == 1)


class Relay:
    def __init__(
        self,
        db: Db,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        *,
        flush_interval: float,
        cancel_poll: float,
    ) -> None:
        self._db = db
        self._connect = connect
        self._conn: asyncpg.Connection | None = None
        self._flush_interval = flush_interval
        self._cancel_poll = cancel_poll
        self._streams: dict[str, ReplyStream] = {}
        self._dirty: dict[int, ReplyStream] = {}
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._loops = BackgroundTasks()
        # For the benchmark: statements and notifications written.
        self.batches = 0
        self.notifications = 0

    async def start(self) -> None:
        self._loops.start("relay-writer", self._write_loop())
        self._loops.start("relay-cancels", self._cancel_loop())

    async def stop(self) -> None:
        await self._loops.stop()
        if self._conn is not None:
            await self._conn.close()

    @contextlib.asynccontextmanager
    async def open(self, request_id: str, attempt: int, user_id: str) -> AsyncIterator[ReplyStream]:
        stream = ReplyStream(self, request_id, attempt, user_id)
        self._streams[request_id] = stream
        try:
            yield stream
        finally:
            del self._streams[request_id]
            self._dirty.pop(id(stream), None)
            # Its last batch must be in before the reply is stored (which deletes the pieces).
            if stream.in_flight is not None:
                await asyncio.shield(stream.in_flight)

    def wants_write(self, stream: ReplyStream, first: bool) -> None:
        self._dirty[id(stream)] = stream
        self._wake.set()
        if first:
            self._urgent.set()

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._urgent.clear()
            started = loop.time()
            await self._write_batch()
            remaining = self._flush_interval - (loop.time() - started)
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), remaining)

    async def _write_batch(self) -> None:
        streams = list(self._dirty.values())
        self._dirty.clear()
        pieces: list[Piece] = []
        for stream in streams:
            text = "".join(stream.pending)
            stream.pending.clear()
            if text:
                pieces.extend(split_piece(Piece(stream.request_id, stream.attempt, stream.offset, text)))
                stream.offset += len(text)
        if not pieces:
            return
        done = asyncio.get_running_loop().create_future()
        for stream in streams:
            stream.in_flight = done
        by_id = {s.request_id: s for s in streams}
        payloads = pack(pieces)
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
            await Db.on(self._conn).execute(
                "answering_stream_append",
                request_ids=[p.request_id for p in pieces],
                attempts=[p.attempt for p in pieces],
                offsets=[p.offset for p in pieces],
                user_ids=[by_id[p.request_id].user_id for p in pieces],
                contents=[p.text for p in pieces],
                payloads=payloads,
            )
            self.batches += 1
            self.notifications += len(payloads)
        except Exception as exc:  # the database is away: these attempts cannot be relayed whole
            log.warning("relay write of %d pieces failed: %s: %s", len(pieces), type(exc).__name__, exc)
            for stream in streams:
                stream.error = RelayFailed(f"relaying the reply failed: {exc}")
                stream.stop.set()
        finally:
            done.set_result(None)

    async def _cancel_loop(self) -> None:
        while True:
            await asyncio.sleep(self._cancel_poll)
            if not self._streams:
                continue
            try:
                rows = await self._db.fetch("answering_cancel_requested", request_ids=list(self._streams))
            except Exception as exc:  # try again at the next poll
                log.warning("polling for cancels failed: %s: %s", type(exc).__name__, exc)
                continue
            for row in rows:
                stream = self._streams.get(row["id"])
                if stream is not None:
                    stream.cancel_requested = True
                    stream.stop.set()
