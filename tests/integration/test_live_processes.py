"""Live answers through real `mukti api` and `mukti worker` processes over real HTTP: the
streamed text equals the stored reply, resumes on another process, survives a killed
worker, and cancels."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket

import asyncpg
import httpx

from jobs import maintenance
from jobs.app import configured_app
from jobs.sweeper import retry_stalled_jobs
from tests.factories import create_user
from tests.integration.answering_helpers import stub_control, stub_stats, submit_sql, wait_until, worker_process
from tests.integration.conversations_support import create_conversation, create_plan
from tests.integration.live_support import Stream, conversations, read_events, sse_headers, stored_reply
from tests.integration.processes_support import api_processes
from tests.integration.usage_support import as_role, open_connector


async def _ask_streaming(
    http: httpx.AsyncClient,
    url: str,
    user,
    conversation_id: str,
    content: str,
    stream: Stream | None = None,
    deltas: int | None = None,
) -> Stream:
    async with http.stream(
        "POST", f"{url}/conversations/{conversation_id}/messages", json={"content": content}, headers=sse_headers(user)
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        return await read_events(response, stream, deltas=deltas)


async def _events(
    http: httpx.AsyncClient,
    url: str,
    user,
    request_id: str,
    last_id: str | None = None,
    stream: Stream | None = None,
    deltas: int | None = None,
) -> Stream:
    headers = {**user.headers, **({"Last-Event-ID": last_id} if last_id else {})}
    async with http.stream("GET", f"{url}/queue/{request_id}/events", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        return await read_events(response, stream, deltas=deltas)


async def test_a_streamed_reply_equals_the_stored_reply(database_url, db, settings, stub, tmp_path):
    stub_control(stub, tokens_per_second=40, reply_repeat=3)
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    async with api_processes(database_url, 1) as (api,), httpx.AsyncClient(timeout=30) as http:
        with worker_process(database_url, stub.base_url, tmp_path / "worker.log"):
            stream = await _ask_streaming(
                http, api.url, user, conversation_id, "Is courage a kind of knowledge?", deltas=3
            )
            request_id = stream.events[0].data["request_id"]
            # Meanwhile GET /queue shows the text so far.
            polled = (await http.get(f"{api.url}/queue/{request_id}", headers=user.headers)).json()
            stream = await _events(http, api.url, user, request_id, stream.last_id, stream)

    assert stream.events[0].kind == "accepted" and stream.events[0].id == "0-0"
    assert stream.events[0].data["message_seq"] == 1
    assert "delta" in stream.kinds() and "reset" not in stream.kinds()
    assert all(e.id for e in stream.events)
    done = stream.final
    assert done.kind == "done" and done.data["status"] == "completed"
    reply = await stored_reply(db, request_id)
    assert stream.text() == done.data["reply"]["content"] == reply
    assert done.data["reply"]["stopped"] is False and done.data["reply"]["seq"] == 2
    assert polled["status"] == "processing" and reply.startswith(polled["partial"]) and polled["partial"]
    # One usage record, from the stream's usage (not estimated), with a time to first token.
    row = await db.fetchrow(
        """SELECT q.usage_estimated, q.first_token_ms, q.completion_tokens,
                                      (SELECT count(*) FROM usage_events u WHERE u.request_id = q.id) AS events,
                                      (SELECT count(*) FROM request_stream_chunks) AS chunks
                                 FROM request_queue q WHERE q.id = $1::uuid""",
        request_id,
    )
    assert row["events"] == 1 and row["usage_estimated"] is False and row["first_token_ms"] is not None
    assert row["completion_tokens"] > 0 and row["chunks"] == 0
    # A finished request replays at once, from any offset.
    async with api_processes(database_url, 1) as (api,), httpx.AsyncClient(timeout=30) as http:
        replay = await _events(http, api.url, user, request_id)
        tail = await _events(http, api.url, user, request_id, f"{done.id.split('-')[0]}-10")
    assert replay.kinds()[-1] == "done" and replay.text() == reply
    assert tail.text() == reply[10:]


async def test_resuming_on_another_api_process_misses_and_repeats_nothing(database_url, db, settings, stub, tmp_path):
    stub_control(stub, tokens_per_second=25, reply_repeat=4)
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    async with api_processes(database_url, 2) as (first, second), httpx.AsyncClient(timeout=30) as http:
        with worker_process(database_url, stub.base_url, tmp_path / "worker.log"):
            half = await _ask_streaming(http, first.url, user, conversation_id, "What makes an action just?", deltas=4)
            request_id = half.events[0].data["request_id"]
            rest = await _events(http, second.url, user, request_id, half.last_id)
    reply = await stored_reply(db, request_id)
    assert half.text() and rest.text() and rest.final.kind == "done"
    assert half.text() + rest.text() == reply == rest.final.data["reply"]["content"]


async def test_a_worker_killed_mid_stream_gives_reset_then_the_whole_reply_once(
    database_url, db, settings, stub, tmp_path
):
    stub_control(stub, tokens_per_second=10, reply_repeat=3)
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    async with api_processes(database_url, 1) as (api,), httpx.AsyncClient(timeout=60) as http:
        with worker_process(database_url, stub.base_url, tmp_path / "worker1.log") as worker:
            stream = await _ask_streaming(http, api.url, user, conversation_id, "Can virtue be taught?", deltas=3)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        request_id = stream.events[0].data["request_id"]
        before = stream.text()
        # The sweeper finds the dead worker's job (any stale heartbeat counts: no live worker).
        app = configured_app(settings)
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        try:
            async with app.open_async():
                assert await retry_stalled_jobs(app, pool, seconds_since_heartbeat=0)
        finally:
            await pool.close()
        stub_control(stub, tokens_per_second=100)
        with worker_process(database_url, stub.base_url, tmp_path / "worker2.log"):
            # The same connection as before the kill: it sees the retry live.
            stream = await _events(http, api.url, user, request_id, stream.last_id, stream)
    reply = await stored_reply(db, request_id)
    kinds = stream.kinds()
    assert before and kinds.count("reset") == 1
    after_reset = "".join(e.data["text"] for e in stream.events[kinds.index("reset") :] if e.kind == "delta")
    assert after_reset == stream.text() == reply == stream.final.data["reply"]["content"]
    assert stream.events[kinds.index("reset")].id == "2-0"


async def _quota(db: asyncpg.Connection, user_id: str) -> dict:
    return dict(
        await db.fetchrow(
            """
        SELECT s.questions_this_hour, s.questions_today, s.tokens_today,
               (SELECT count(*) FROM rate_limits h WHERE h.subject = $1 AND h.action = 'question') AS hits,
               (SELECT count(*) FROM usage_events u WHERE u.user_id = s.user_id) AS usage_events
          FROM subscriptions s WHERE s.user_id = $1::uuid""",
            user_id,
        )
    )


async def test_cancelling_a_pending_request_gives_its_quota_back(database_url, db, settings):
    user = await create_user(db, settings)
    other = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    async with api_processes(database_url, 1) as (api,), httpx.AsyncClient(timeout=30) as http:
        before = await _quota(db, user.id)
        asked = await http.post(
            f"{api.url}/conversations/{conversation_id}/messages", json={"content": "Why?"}, headers=user.headers
        )
        request_id = asked.json()["request_id"]
        assert (await _quota(db, user.id))["hits"] == before["hits"] + 1
        # The streaming form answers errors as problem+json before any event.
        url = f"{api.url}/conversations/{conversation_id}/messages"
        for headers, content, status in ((sse_headers(other), "Why?", 404), (sse_headers(user), " ", 422)):
            refused = await http.post(url, json={"content": content}, headers=headers)
            assert refused.status_code == status
            assert refused.headers["content-type"].startswith("application/problem+json")
        # Someone else's request: 404 everywhere, and nothing changes.
        assert (await http.post(f"{api.url}/queue/{request_id}/cancel", headers=other.headers)).status_code == 404
        assert (await http.get(f"{api.url}/queue/{request_id}/events", headers=other.headers)).status_code == 404
        bad = await http.get(
            f"{api.url}/queue/{request_id}/events", headers={**user.headers, "Last-Event-ID": "yesterday"}
        )
        assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["detail"]
        async with http.stream("GET", f"{api.url}/queue/{request_id}/events", headers=user.headers) as response:
            watching = asyncio.create_task(read_events(response))
            cancelled = await http.post(f"{api.url}/queue/{request_id}/cancel", headers=user.headers)
            watched = await asyncio.wait_for(watching, 10)
        again = await http.post(f"{api.url}/queue/{request_id}/cancel", headers=user.headers)
        status = (await http.get(f"{api.url}/queue/{request_id}", headers=user.headers)).json()

    assert cancelled.status_code == 200 and cancelled.json() == {"request_id": request_id, "status": "cancelled"}
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert status["status"] == "cancelled" and "reply" not in status
    # The stream's opening status may or may not have been read before the cancel landed
    # (the two race on a loaded machine); either way it ends with `cancelled`.
    assert watched.kinds() in (["status", "cancelled"], ["cancelled"]), watched.kinds()
    if watched.kinds()[0] == "status":
        assert watched.events[0].data == {"status": "pending", "position": 1}
    assert await _quota(db, user.id) == before
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'answer_question'") == 0


async def test_cancelling_a_streaming_request_stores_the_reply_as_far_as_it_got(
    database_url, db, settings, stub, tmp_path
):
    stub_control(stub, tokens_per_second=5, reply_repeat=5)
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    async with api_processes(database_url, 1) as (api,), httpx.AsyncClient(timeout=30) as http:
        with worker_process(database_url, stub.base_url, tmp_path / "worker.log"):
            stream = await _ask_streaming(
                http, api.url, user, conversation_id, "Is knowledge justified belief?", deltas=3
            )
            request_id = stream.events[0].data["request_id"]
            started = asyncio.get_running_loop().time()
            cancelled = await http.post(f"{api.url}/queue/{request_id}/cancel", headers=user.headers)
            took = asyncio.get_running_loop().time() - started
            stream = await _events(http, api.url, user, request_id, stream.last_id, stream)

            async def call_ended():
                return stub_stats(stub)["in_flight"] == 0

            await wait_until(call_ended, 1, "the LLM call to end")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "completed"
    assert took < 1.5, f"stopping took {took:.2f} s"
    done = stream.final
    reply = await stored_reply(db, request_id)
    assert done.kind == "done" and done.data["reply"]["stopped"] is True
    assert stream.text() == reply == done.data["reply"]["content"]
    full = stub_stats(stub)["calls"][0]["content"]  # the question; the full reply would be 5 sentences
    assert full and reply.count("?") < 5
    row = await db.fetchrow(
        """SELECT q.status, q.stopped, q.usage_estimated, q.completion_tokens,
                                      (SELECT count(*) FROM usage_events u WHERE u.request_id = q.id) AS events
                                 FROM request_queue q WHERE q.id = $1::uuid""",
        request_id,
    )
    # The stream was cut before its usage chunk: billed once, on estimated usage.
    assert dict(row) == {
        "status": "completed",
        "stopped": True,
        "usage_estimated": True,
        "completion_tokens": row["completion_tokens"],
        "events": 1,
    }
    assert row["completion_tokens"] > 0


async def test_two_hundred_clients_stream_through_one_api_process(database_url, db, settings, stub, tmp_path):
    n = 200
    stub_control(stub, tokens_per_second=20, reply_repeat=6)
    await create_plan(db, "bulk", per_hour=10_000, per_day=10_000, priority=5)
    user = await create_user(db, settings, plan="bulk")
    conversation_ids = await conversations(db, user.id, n)
    limits = httpx.Limits(max_connections=n + 10)
    async with api_processes(database_url, 1) as (api,), httpx.AsyncClient(timeout=120, limits=limits) as http:
        with worker_process(database_url, stub.base_url, tmp_path / "worker.log", MUKTI_WORKER_CONCURRENCY=str(n + 20)):
            streams = await asyncio.gather(
                *(
                    _ask_streaming(http, api.url, user, c, f"Question {i}: what is a good life?")
                    for i, c in enumerate(conversation_ids)
                )
            )
    assert all(s.final is not None and s.final.kind == "done" for s in streams)
    for stream in streams:
        request_id = stream.events[0].data["request_id"]
        assert stream.text() == await stored_reply(db, request_id) == stream.final.data["reply"]["content"]
    # The replies really streamed at the same time (as many as the worker started while the first ran).
    assert stub_stats(stub)["max_in_flight"] >= 50


async def test_pieces_left_by_ended_attempts_are_purged(db, settings, database_url):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = await submit_sql(db, user.id, conversation_id, "Why?")
    await db.execute("UPDATE request_queue SET status = 'processing', attempts = 2 WHERE id = $1::uuid", request_id)
    await db.execute(
        "INSERT INTO request_stream_chunks (request_id, attempt, start_offset, user_id, content, created_at) "
        "VALUES ($1::uuid, 1, 0, $2::uuid, 'Old', now() - interval '2 minutes'), "  # an attempt given up
        "       ($1::uuid, 2, 0, $2::uuid, 'Now', now() - interval '2 minutes'), "  # the running attempt
        "       (gen_random_uuid(), 1, 0, $2::uuid, 'Gone', now() - interval '2 minutes'), "  # a deleted request
        "       (gen_random_uuid(), 1, 0, $2::uuid, 'Fresh', now())",  # too young to judge
        request_id,
        user.id,
    )
    async with open_connector(as_role(database_url, "mukti_app")) as connector:
        assert await maintenance.purge_stream_chunks(connector, batch=1) == 2
    left = await db.fetch("SELECT content FROM request_stream_chunks ORDER BY content")
    assert [r["content"] for r in left] == ["Fresh", "Now"]


async def test_streams_that_break_or_stall_are_retried_and_usage_without_a_usage_chunk_is_estimated(
    database_url, db, settings, stub, tmp_path
):
    # The first call ends early, the retry stalls until the worker's timeout, the third completes,
    # and no stream carries usage.
    stub_control(
        stub,
        tokens_per_second=40,
        reply_repeat=2,
        break_next=1,
        break_after=4,
        stall_next=1,
        stall_after=2,
        stream_usage=False,
    )
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    async with api_processes(database_url, 1) as (api,), httpx.AsyncClient(timeout=60) as http:
        with worker_process(database_url, stub.base_url, tmp_path / "worker.log", LLM_TIMEOUT="1"):
            stream = await _ask_streaming(http, api.url, user, conversation_id, "Is a promise binding?")
    request_id = stream.events[0].data["request_id"]
    kinds = stream.kinds()
    assert kinds.count("reset") == 2 and [e.id for e in stream.events if e.kind == "reset"] == ["2-0", "3-0"]
    assert stream.text() == await stored_reply(db, request_id) == stream.final.data["reply"]["content"]
    row = await db.fetchrow(
        "SELECT attempts, usage_estimated, prompt_tokens, completion_tokens FROM request_queue WHERE id = $1::uuid",
        request_id,
    )
    assert row["attempts"] == 3 and row["usage_estimated"] is True
    assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0
    # Billed once; the two failed attempts are events of their own (analytics: attempt_failed).
    events = dict(
        await db.fetch(
            "SELECT event_type, count(*) FROM usage_events WHERE request_id = $1::uuid GROUP BY 1", request_id
        )
    )
    assert events == {"question": 1, "attempt_failed": 2}


async def test_a_client_that_does_not_read_is_dropped_and_can_resume(database_url, db, settings, stub, tmp_path):
    # The reply takes about a second, whatever the worker's LLM client costs, and the worker
    # writes it in batches of 0.2 s: each batch is several NOTIFY payloads, delivered to the
    # API at once (more than the client's queue of 2 holds while the client does not read).
    stub_control(stub, reply_repeat=1100, tokens_per_second=17_600)
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    asked = await submit_sql(db, user.id, conversation_id, "What is the good?")
    async with api_processes(database_url, 1, MUKTI_LIVE_CLIENT_QUEUE="2") as (api,):
        # A client that reads nothing once the response started, with a tiny receive window
        # and small segments (the server's send buffer grows with the segment size, and on
        # loopback segments are 64 KiB: it would swallow the whole reply).
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        host, port = api.url.removeprefix("http://").split(":")
        await loop.sock_connect(sock, (host, int(port)))
        token = user.headers["Authorization"]
        request = f"GET /queue/{asked}/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: {token}\r\n\r\n"
        await loop.sock_sendall(sock, request.encode())
        received = await loop.sock_recv(sock, 12)
        assert received.startswith(b"HTTP/1.1 200")
        with worker_process(database_url, stub.base_url, tmp_path / "worker.log", MUKTI_LIVE_FLUSH_INTERVAL="0.2"):

            async def stored():
                return await stored_reply(db, asked)

            reply = await wait_until(stored, 60, "the reply to be stored")

        # Everything the server sent before it dropped us, then the end of the connection.
        async def read_to_the_end() -> bytes:
            data = b""
            while chunk := await loop.sock_recv(sock, 65536):
                data += chunk
            return data

        received += await asyncio.wait_for(read_to_the_end(), 30)
        sock.close()
        assert b"event: done" not in received, "the client was not dropped"
        body = received.decode(errors="replace")
        last_id = re.findall(r"^id: (\S+)\r?$", body, re.MULTILINE)[-1]
        deltas = re.findall(r"^event: delta\r?\ndata: (.*?)\r?$", body, re.MULTILINE)
        held = "".join(json.loads(d)["text"] for d in deltas)
        async with httpx.AsyncClient(timeout=30) as http:
            rest = await _events(http, api.url, user, asked, last_id)
    assert rest.final.kind == "done" and len(held) < len(reply)
    assert held + rest.text() == reply
