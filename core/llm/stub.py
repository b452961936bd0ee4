"""The offline LLM: a small OpenAI-compatible HTTP server shipped with Mukti.

It answers `POST /v1/chat/completions` with a deterministic Socratic follow-up question
derived from the last user message, with usage numbers counted roughly by words, and
`GET /v1/models`. With `stream: true` the reply comes as server-sent events, one word
per chunk, and (when asked for with `stream_options.include_usage`) a last chunk with
the usage, as OpenAI's API sends them. `mukti up` runs it when no LLM is configured; the tests and the
benchmark drive it over real HTTP through its control endpoints:

    POST /_control {latency_ms, latency_jitter_ms, fail_next, fail_status, retry_after, hang,
                    tokens_per_second, reply_repeat, stream_usage,
                    break_next, break_after, stall_next, stall_after}
    GET  /_stats   -> {total, in_flight, max_in_flight, failures, connections,
                       calls: [{content, started, first_token, ended}]}  (?calls=0: calls left out)

`connections` counts the client connections the completions came on (distinct client
addresses; a client that keeps its connections alive opens few). Like the call log, it is
kept only when the stub records calls.

Streaming knobs: `tokens_per_second` paces the chunks (0: as fast as possible);
`reply_repeat` makes replies that many times longer; `stream_usage: false` leaves the
usage out (as some providers do); the next `break_next` streams end cleanly but early,
after `break_after` words, without a finish (a failure in the middle of a stream); the
next `stall_next` streams stop sending after `stall_after` words and hold the connection
until the client gives up.
    POST /_reset   -> back to defaults, counters and call log cleared

It is a bare ASGI app under uvicorn (no framework): it must keep up with the worker
at thousands of calls per second and hold hundreds of slow calls open at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from core.llm.prompts import TITLE_PROMPT

MODELS = ("gpt-4o-mini", "gpt-4o", "mukti-stub")

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_STOPWORDS = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "also",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "could",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "every",
        "from",
        "further",
        "have",
        "having",
        "here",
        "into",
        "itself",
        "just",
        "more",
        "most",
        "much",
        "must",
        "myself",
        "only",
        "other",
        "ought",
        "over",
        "same",
        "should",
        "some",
        "such",
        "than",
        "that",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "until",
        "very",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "whom",
        "with",
        "would",
        "your",
        "yours",
        "yourself",
        "really",
        "thing",
        "things",
        "think",
    ]
)

# Follow-up questions in the Socratic manner; {term} is a key word of the learner's message.
_TEMPLATES = (
    'What do you mean when you say "{term}"? Could you give an example?',
    'What are you assuming about "{term}" here, and how could we test that assumption?',
    'How would you know whether your claim about "{term}" is true? What evidence would change your mind?',
    'If someone disagreed with you about "{term}", what would their strongest argument be?',
    'What follows if your view of "{term}" is right? Is there a consequence you would not accept?',
    'Why do you think "{term}" matters here? What question lies underneath it?',
)
_FALLBACK = "What exactly would you like to understand, and what do you already believe about it?"


def count_tokens(text: str) -> int:
    """A rough token count: words and punctuation marks, as tokenizers roughly do."""
    return len(_TOKEN.findall(text))


_PIECE = re.compile(r"\s*\S+")


def stream_pieces(text: str) -> list[str]:
    """The chunks a reply streams in: each word with the space before it (they join to the text)."""
    return _PIECE.findall(text)


def socratic_reply(question: str) -> str:
    """A deterministic follow-up question about the most telling word of `question`."""
    words = [w.lower() for w in _WORD.findall(question) if w.lower() not in _STOPWORDS]
    if not words:
        return _FALLBACK
    term = max(words, key=len)
    digest = hashlib.sha256(question.encode()).digest()
    return _TEMPLATES[digest[0] % len(_TEMPLATES)].format(term=term)


def stub_title(dialogue: str) -> str:
    """A deterministic title: the most telling word of the dialogue, capitalised."""
    words = [w.lower() for w in _WORD.findall(dialogue) if w.lower() not in _STOPWORDS]
    return f"On {max(words, key=len).capitalize()}" if words else "A Socratic dialogue"


@dataclass
class StubState:
    latency_ms: float = 0
    latency_jitter_ms: float = 0
    fail_next: int = 0
    fail_status: int = 500
    retry_after: float | None = None
    hang: bool = False
    tokens_per_second: float = 0
    reply_repeat: int = 1
    stream_usage: bool = True
    break_next: int = 0
    break_after: int = 3
    stall_next: int = 0
    stall_after: int = 3
    total: int = 0
    failures: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    clients: set[Any] = field(default_factory=set)

    KNOBS = (
        "latency_ms",
        "latency_jitter_ms",
        "fail_next",
        "fail_status",
        "retry_after",
        "hang",
        "tokens_per_second",
        "reply_repeat",
        "stream_usage",
        "break_next",
        "break_after",
        "stall_next",
        "stall_after",
    )

    def control(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(self.KNOBS)
        if unknown:
            raise ValueError(f"unknown knobs: {sorted(unknown)}")
        for name, value in changes.items():
            setattr(self, name, value)
        return {name: getattr(self, name) for name in self.KNOBS}

    def stats(self, with_calls: bool = True) -> dict[str, Any]:
        return {
            "total": self.total,
            "failures": self.failures,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "connections": len(self.clients),
            "calls": self.calls if with_calls else [],
        }


class StubApp:
    """The ASGI application; all state lives in the server's event loop."""

    def __init__(self, record_calls: bool = True) -> None:
        self.state = StubState()
        self.record_calls = record_calls

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        route = (scope["method"], scope["path"].rstrip("/"))
        if route == ("POST", "/v1/chat/completions"):
            if self.record_calls:
                self.state.clients.add(tuple(scope.get("client") or ()))
            await self._completion(body, receive, send)
        elif route == ("GET", "/v1/models"):
            await _json(
                send,
                200,
                {
                    "object": "list",
                    "data": [{"id": m, "object": "model", "created": 0, "owned_by": "mukti"} for m in MODELS],
                },
            )
        elif route == ("POST", "/_control"):
            try:
                await _json(send, 200, self.state.control(json.loads(body or b"{}")))
            except (ValueError, TypeError) as exc:
                await _json(send, 422, {"error": str(exc)})
        elif route == ("GET", "/_stats"):
            # ?calls=0: the counters only (a poller need not copy the whole call log).
            await _json(send, 200, self.state.stats(with_calls=scope.get("query_string") != b"calls=0"))
        elif route == ("POST", "/_reset"):
            self.state = StubState()
            await _json(send, 200, {})
        else:
            await _json(send, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    async def _completion(self, body: bytes, receive, send) -> None:
        state = self.state
        try:
            request = json.loads(body)
            messages = request["messages"]
            model = request["model"]
        except (ValueError, KeyError, TypeError):
            await _json(
                send, 400, {"error": {"message": "model and messages are required", "type": "invalid_request_error"}}
            )
            return
        question = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        record = {"content": question, "started": time.time(), "first_token": None, "ended": None}
        state.total += 1
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        if self.record_calls:
            state.calls.append(record)
        try:
            if state.hang:
                # Hold the call open until the client gives up and disconnects.
                while (await receive())["type"] != "http.disconnect":
                    pass
                return
            delay = state.latency_ms + random.uniform(0, state.latency_jitter_ms)
            if delay > 0:
                await asyncio.sleep(delay / 1000)
            if state.fail_next > 0:
                state.fail_next -= 1
                state.failures += 1
                headers = {}
                if state.retry_after is not None:
                    headers["retry-after"] = f"{state.retry_after:g}"
                kind = "rate_limit_exceeded" if state.fail_status == 429 else "server_error"
                await _json(
                    send,
                    state.fail_status,
                    {"error": {"message": f"stub failure ({state.fail_status})", "type": kind}},
                    headers,
                )
                return
            title_asked = bool(messages) and messages[0].get("content") == TITLE_PROMPT
            reply = (
                stub_title(question)
                if title_asked
                else " ".join([socratic_reply(question)] * max(int(state.reply_repeat), 1))
            )
            prompt_tokens = sum(count_tokens(m.get("content") or "") + 4 for m in messages)
            completion_tokens = count_tokens(reply)
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            completion_id = "chatcmpl-" + hashlib.sha256(body).hexdigest()[:24]
            if request.get("stream"):
                with_usage = bool((request.get("stream_options") or {}).get("include_usage")) and state.stream_usage
                await self._stream(send, receive, record, completion_id, model, reply, usage if with_usage else None)
                return
            await _json(
                send,
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
                    ],
                    "usage": usage,
                },
            )
        finally:
            state.in_flight -= 1
            record["ended"] = time.time()

    async def _stream(
        self,
        send,
        receive,
        record: dict[str, Any],
        completion_id: str,
        model: str,
        reply: str,
        usage: dict[str, int] | None,
    ) -> None:
        state = self.state
        broken = stalled = False
        if state.break_next > 0:
            state.break_next -= 1
            broken = True
        elif state.stall_next > 0:
            state.stall_next -= 1
            stalled = True
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
            }
        )
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        pace = state.tokens_per_second
        # Unpaced, the events go out together, in one write at the end (or where a break or
        # a stall cuts the stream), as a provider's burst reaches the client. A write per
        # word cost the stub 0.34 ms of CPU per answer against 0.25, on the benchmark's
        # machine that the worker and Postgres share (docs/performance.md "The stub's writes").
        unsent: list[bytes] = []

        async def flush(more_body: bool = True) -> None:
            if unsent or not more_body:
                await send({"type": "http.response.body", "body": b"".join(unsent), "more_body": more_body})
                unsent.clear()

        async def event(payload: Any) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            unsent.append(f"data: {data}\n\n".encode())
            if pace > 0:
                await flush()

        async def disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        # A client that goes away ends the call (sends to a closed connection would not tell).
        gone = asyncio.create_task(disconnect())
        try:
            await event(chunk({"role": "assistant", "content": ""}))
            started = time.monotonic()
            for i, piece in enumerate(stream_pieces(reply)):
                if pace > 0:
                    # An absolute schedule: the pace holds however long each send took.
                    await asyncio.wait([gone], timeout=max(started + i / pace - time.monotonic(), 0))
                if gone.done():
                    return
                if broken and i == state.break_after:
                    state.failures += 1
                    await flush(more_body=False)
                    return
                if stalled and i == state.stall_after:
                    await flush()
                    await gone
                    return
                await event(chunk({"content": piece}))
                if record["first_token"] is None:
                    record["first_token"] = time.time()
        finally:
            gone.cancel()
        await event(chunk({}, "stop"))
        if usage is not None:
            await event(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        await event("[DONE]")
        await flush(more_body=False)


async def _json(send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": data})


def _server(app: StubApp, sock: socket.socket) -> uvicorn.Server:
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class StubServer:
    """The stub in a background thread of this process (for tests and benchmarks)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, record_calls: bool = True) -> None:
        self.app = StubApp(record_calls=record_calls)
        self._sock = bind(host, port)
        host, port = self._sock.getsockname()[:2]
        self.root_url = f"http://{host}:{port}"
        self.base_url = self.root_url + "/v1"
        self._server = _server(self.app, self._sock)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="llm-stub", daemon=True
        )

    def __enter__(self) -> StubServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the LLM stub did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def serve(host: str = "127.0.0.1", port: int = 0) -> None:
    """Run the stub in the foreground until interrupted (`mukti llm-stub`)."""
    sock = bind(host, port)
    host, port = sock.getsockname()[:2]
    # The call log would grow without bound in a long-running process.
    server = _server(StubApp(record_calls=False), sock)
    print(f"LLM stub listening on http://{host}:{port}/v1", flush=True)
    server.run(sockets=[sock])
