"""Failed LLM calls: retried with backoff (Retry-After honoured), then failed with a
notification and a signed webhook that a local receiver checks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.llm.stub import StubServer
from core.settings import Settings
from tests.integration.answering_helpers import (
    ask,
    inprocess_worker,
    new_learner,
    stub_control,
    stub_stats,
    wait_answered,
    wait_until,
)


@pytest.fixture
def settings(db_settings: dict, stub: StubServer) -> Settings:
    # The webhook receiver of these tests listens on 127.0.0.1: a private address on purpose.
    return Settings(
        **db_settings,
        llm_base_url=stub.base_url,
        llm_timeout=5,
        worker_concurrency=10,
        burst_limit=0,
        max_attempts=3,
        webhook_allow_private=True,
    )


class Receiver:
    """A webhook endpoint on 127.0.0.1: answers `statuses` in turn (then 200), records requests."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.delivered = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if status == 200:
                    receiver.delivered.set()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/mukti"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _gaps(calls: list[dict]) -> list[float]:
    return [later["started"] - earlier["ended"] for earlier, later in zip(calls, calls[1:], strict=False)]


async def test_failing_twice_then_answering_gives_one_reply_after_three_attempts(client, db, settings, stub):
    stub_control(stub, fail_next=2, fail_status=500)
    learner = await new_learner(client, db)
    async with inprocess_worker(settings):
        accepted = await ask(client, learner, "Can virtue be taught?")
        done = await wait_answered(client, learner, accepted["request_id"])

    assert done["status"] == "completed" and done["attempts"] == 3
    calls = stub_stats(stub)["calls"]
    assert len(calls) == 3
    first_wait, second_wait = _gaps(calls)
    # Lower bounds are the backoff; upper bounds leave room for a loaded machine (poll 0.1 s, jitter 25%).
    assert 1.0 <= first_wait < 2.2, first_wait
    assert 2.0 <= second_wait < 3.6, second_wait
    replies = await db.fetchval(
        "SELECT count(*) FROM recent_messages WHERE request_id = $1::uuid AND role = 'assistant'",
        accepted["request_id"],
    )
    assert replies == 1


async def test_retry_after_of_a_429_is_honoured(client, db, settings, stub):
    stub_control(stub, fail_next=1, fail_status=429, retry_after=2.5)
    learner = await new_learner(client, db)
    async with inprocess_worker(settings):
        accepted = await ask(client, learner, "Is it ever right to break the law?")
        done = await wait_answered(client, learner, accepted["request_id"])

    assert done["status"] == "completed" and done["attempts"] == 2
    (wait,) = _gaps(stub_stats(stub)["calls"])
    assert 2.5 <= wait < 4.0, wait  # not the ~1 s of the first backoff step


async def test_failing_always_fails_the_request_and_sends_a_signed_webhook(client, db, settings, stub):
    stub_control(stub, fail_next=1000, fail_status=500)
    receiver = Receiver(statuses=[503])  # the first delivery attempt fails: the webhook job retries
    try:
        learner = await new_learner(client, db)
        await db.execute("UPDATE users SET webhook_url = $2 WHERE id = $1::uuid", learner["user_id"], receiver.url)
        async with inprocess_worker(settings):
            accepted = await ask(client, learner, "What is knowledge?")
            done = await wait_answered(client, learner, accepted["request_id"])
            assert await asyncio.to_thread(receiver.delivered.wait, 15), "no webhook delivered"

            async def recorded():
                return await db.fetchrow("SELECT * FROM webhook_deliveries WHERE status = 'delivered'")

            delivery = await wait_until(recorded, 5, "the delivery to be recorded")
    finally:
        receiver.close()

    assert done["status"] == "failed" and done["attempts"] == 3
    assert "500" in done["error"]
    assert stub_stats(stub)["total"] == 3
    note = await db.fetchrow("SELECT * FROM notifications WHERE user_id = $1::uuid", learner["user_id"])
    assert note["kind"] == "request_failed"
    assert await db.fetchval("SELECT count(*) FROM recent_messages WHERE role = 'assistant'") == 0

    assert len(receiver.requests) == 2 and delivery["attempts"] == 2
    for headers, body in receiver.requests:
        expected = "sha256=" + hmac.new(settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Mukti-Signature"], expected)
    event = json.loads(receiver.requests[-1][1])
    assert event["event"] == "request.failed"
    assert event["data"]["request_id"] == accepted["request_id"] and event["data"]["attempts"] == 3
