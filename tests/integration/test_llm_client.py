"""The LLM client against real local HTTP servers: keep-alive connections, and failures
(error answers, timeouts, no server) as LlmError with the right outcome and message."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

from core.llm.client import MAX_EVENT_LINE_BYTES, LlmClient, LlmError
from core.llm.stub import StubServer
from tests.integration.answering_helpers import stub_control, stub_stats

MESSAGES = [{"role": "user", "content": "Is courage a kind of knowledge?"}]


@pytest.fixture
async def llm(stub: StubServer) -> AsyncIterator[LlmClient]:
    client = LlmClient(base_url=stub.base_url, api_key=None, timeout=1, max_connections=4)
    try:
        yield client
    finally:
        await client.aclose()


async def stream(llm: LlmClient):
    return await llm.stream("gpt-4o-mini", MESSAGES, lambda _text: None, asyncio.Event())


async def test_sequential_streamed_calls_reuse_one_connection(llm, stub):
    for _ in range(5):
        reply = await stream(llm)
        assert reply.content.endswith("?") and not reply.usage_estimated and not reply.stopped
    await llm.complete("gpt-4o-mini", MESSAGES)
    stats = stub_stats(stub)
    assert (stats["total"], stats["connections"]) == (6, 1)


@pytest.mark.parametrize(
    ("status", "outcome", "public"),
    [
        (401, "config_error", "refused our credentials (HTTP 401)"),
        (404, "config_error", "does not know this plan's model (HTTP 404)"),
        (422, "config_error", "refused the request (HTTP 422)"),
        (429, "rate_limited", "rate limiting us"),
        (503, "server_error", "answered with an error (HTTP 503)"),
    ],
)
async def test_an_error_answer_is_an_llm_error_with_its_message(llm, stub, status, outcome, public):
    stub_control(stub, fail_next=2, fail_status=status, retry_after=7)
    for call in (stream(llm), llm.complete("gpt-4o-mini", MESSAGES)):
        with pytest.raises(LlmError) as raised:
            await call
        error = raised.value
        assert (error.status, error.outcome, error.retry_after) == (status, outcome, 7.0)
        assert public in error.public
        assert str(error) == f"LLM answered {status}: stub failure ({status})"
    # The error answers were read to their end: the connection stays in use.
    await stream(llm)
    assert stub_stats(stub)["connections"] == 1


async def test_an_error_answer_that_is_not_json_is_quoted():
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        page = b"<html>bad gateway</html>"
        writer.write(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nRetry-After-Ms: 1500\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(page), page)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    llm = LlmClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", timeout=1, max_connections=1)
    try:
        with pytest.raises(LlmError) as raised:
            await stream(llm)
    finally:
        await llm.aclose()
        server.close()
    assert str(raised.value) == "LLM answered 502: <html>bad gateway</html>"
    assert (raised.value.outcome, raised.value.retry_after) == ("server_error", 1.5)


async def test_a_request_reaches_the_endpoint_path_with_the_key():
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    llm = LlmClient(base_url=f"http://127.0.0.1:{port}/api/v1/", api_key="sk-test", timeout=1, max_connections=1)
    try:
        with pytest.raises(LlmError, match="LLM answered 401"):
            await llm.list_models()
        with pytest.raises(LlmError, match="LLM answered 401"):
            await stream(llm)
    finally:
        await llm.aclose()
        server.close()
    assert [head.split(b"\r\n")[0] for head in seen] == [
        b"GET /api/v1/models HTTP/1.1",
        b"POST /api/v1/chat/completions HTTP/1.1",
    ]
    assert all(b"\r\nauthorization: bearer sk-test\r\n" in head.lower() for head in seen)


async def test_no_answer_in_time_is_a_timeout(llm, stub):
    stub_control(stub, hang=True)
    with pytest.raises(LlmError) as raised:
        await stream(llm)
    assert (raised.value.outcome, str(raised.value)) == ("timeout", "LLM call timed out")
    assert raised.value.public == "the language model did not answer in time"


async def test_a_stalled_stream_fails_after_the_timeout(llm, stub):
    stub_control(stub, stall_next=1, stall_after=2)
    with pytest.raises(LlmError, match="the stream stalled"):
        await stream(llm)


async def test_no_server_is_unreachable():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = LlmClient(base_url=f"http://127.0.0.1:{port}/v1", api_key=None, timeout=1, max_connections=1)
    try:
        with pytest.raises(LlmError) as raised:
            await stream(llm)
    finally:
        await llm.aclose()
    assert str(raised.value).startswith("LLM unreachable: ClientConnectorError")
    assert raised.value.outcome == "unreachable"


HELD_OPEN_EVENTS = (
    b'data: {"choices": [{"delta": {"content": "Why so?"}, "finish_reason": "stop"}]}\n\n'
    b'data: {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}\n\n'
    b"data: [DONE]\n\n"
)


@contextlib.asynccontextmanager
async def held_open_server() -> AsyncIterator[LlmClient]:
    """A server that sends a whole reply and its [DONE] but never ends the body."""
    release = asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"%x\r\n%s\r\n" % (len(HELD_OPEN_EVENTS), HELD_OPEN_EVENTS)
        )
        await writer.drain()
        await release.wait()  # the terminating chunk never comes
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    llm = LlmClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", timeout=5, max_connections=1)
    try:
        yield llm
    finally:
        release.set()
        await llm.aclose()
        server.close()
        await server.wait_closed()


async def test_a_stream_held_open_after_its_end_still_gives_the_reply():
    # The reply is complete at [DONE]: the call succeeds (the connection is given up)
    # instead of failing as a stalled stream after the timeout.
    async with held_open_server() as llm:
        reply = await asyncio.wait_for(stream(llm), timeout=3)
    assert (reply.content, reply.prompt_tokens, reply.completion_tokens) == ("Why so?", 9, 3)
    assert not reply.stopped and not reply.usage_estimated


async def test_a_stop_after_the_end_of_the_reply_stops_nothing():
    # The stop comes with the reply's last piece; the client is by then only reading the
    # body's end after [DONE]: the reply is whole, not cut short.
    stop = asyncio.Event()
    async with held_open_server() as llm:
        reply = await asyncio.wait_for(llm.stream("gpt-4o-mini", MESSAGES, lambda _text: stop.set(), stop), timeout=3)
    assert (reply.content, reply.prompt_tokens, reply.stopped) == ("Why so?", 9, False)


async def test_an_event_line_without_end_fails_the_call_without_buffering_it():
    # A broken endpoint that streams bytes without a line end: the call fails once the line
    # passes its cap, long before the read timeout, instead of buffering all of it.
    sent = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"data: " + b"x" * (64 * 1024)
        with contextlib.suppress(ConnectionError):
            while sent < 8 * MAX_EVENT_LINE_BYTES:
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                sent += len(piece)
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    llm = LlmClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", timeout=30, max_connections=1)
    try:
        with pytest.raises(LlmError, match=f"event line longer than {MAX_EVENT_LINE_BYTES} bytes"):
            await asyncio.wait_for(stream(llm), timeout=10)
    finally:
        await llm.aclose()
        server.close()
        await server.wait_closed()
    assert MAX_EVENT_LINE_BYTES < sent < 8 * MAX_EVENT_LINE_BYTES


def chunked_body_writes(stub: StubServer) -> list[bytes]:
    """The chunks of one streamed completion's body as the stub wrote them: over a raw
    socket, its `Transfer-Encoding: chunked` framing keeps the writes apart however TCP
    delivers them."""
    host, port = stub.root_url.removeprefix("http://").split(":")
    body = b'{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "Why?"}]}'
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: stub\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        raw = b""
        while data := sock.recv(65536):
            raw += data
    head, rest = raw.split(b"\r\n\r\n", 1)
    assert b"transfer-encoding: chunked" in head.lower(), head
    writes: list[bytes] = []
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return writes
        writes.append(rest[:size])
        rest = rest[size + 2 :]


def test_an_unpaced_stream_is_written_at_once_and_a_paced_one_event_by_event(stub):
    # Unpaced (the benchmark's 0 ms stub), the events go out in one write: a write per word
    # cost the stub a third more CPU per answer, on the machine the worker shares.
    writes = chunked_body_writes(stub)
    events = b"".join(writes).split(b"\n\n")[:-1]
    assert len(writes) == 1 and len(events) >= 4 and events[-1] == b"data: [DONE]"
    # Paced, each event is written when it is due, as a provider sends tokens.
    stub_control(stub, tokens_per_second=1000)
    paced = chunked_body_writes(stub)
    assert len(paced) == len(events) and all(w.endswith(b"\n\n") and w.count(b"\n\n") == 1 for w in paced)
