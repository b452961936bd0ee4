"""Helpers of the browser tests: signing up through the page, the API behind it, and a
watch on the console for script errors and Content-Security-Policy violations."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import psycopg

PASSWORD = "correct horse battery staple"
TIMEOUT_MS = 30_000


@dataclass
class Watch:
    """Every console error and uncaught exception of a page (a CSP violation is a console error)."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))

    def _console(self, message) -> None:
        # Chromium logs every non-2xx answer; the 401, 410 and 429 pages are answers on purpose.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def csp_violations(self) -> list[str]:
        return [p for p in self.problems if "Content Security Policy" in p or "Trusted Type" in p]


@dataclass
class Learner:
    email: str
    user_id: str
    token: str


def sign_up(page, base_url: str, name: str = "Ada") -> Learner:
    """Create an account through the page, with the keyboard; the tokens are read from the tab's sessionStorage."""
    page.goto(base_url + "/")
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_role("link", name="Create an account").click()
    email = f"web-{uuid.uuid4().hex[:10]}@example.org"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Think it through").wait_for()
    stored = page.evaluate("JSON.parse(sessionStorage.getItem('mukti.session'))")
    assert page.url.startswith(base_url) and stored["access_token"] not in page.url
    return Learner(email=email, user_id=stored["user"]["id"], token=stored["access_token"])


def sign_in(page, base_url: str, learner: Learner) -> None:
    page.goto(base_url + "/#/signin")
    page.get_by_label("Email").fill(learner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Think it through").wait_for()


def set_plan(database_url: str, user_id: str, plan: str) -> None:
    """As billing would (the plan is not the subject of these tests)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE subscriptions SET plan_id = %s WHERE user_id = %s", (plan, user_id))


def api(base_url: str, learner: Learner) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {learner.token}"}, timeout=30)


def ask_and_wait(client: httpx.Client, conversation_id: str, contents: list[str], timeout: float = 60) -> None:
    """Ask over the API (the 202 form) and wait until every reply is in."""
    request_ids = []
    for content in contents:
        response = client.post(f"/conversations/{conversation_id}/messages", json={"content": content})
        assert response.status_code == 202, response.text
        request_ids.append(response.json()["request_id"])
        # One at a time: a conversation answers its questions in order anyway.
        _wait_done(client, request_ids[-1], timeout)


def _wait_done(client: httpx.Client, request_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/queue/{request_id}").json()["status"]
        if status in ("completed", "failed", "cancelled"):
            assert status == "completed", status
            return
        time.sleep(0.05)  # another process answers: there is no event to await from here
    raise AssertionError(f"request {request_id} not answered in {timeout} s")


def start_dialogue(page, base_url: str, database_url: str, title: str) -> tuple[Learner, str]:
    """A new learner (paid plan) in a new conversation with the default technique; returns its id too."""
    learner = sign_up(page, base_url)
    set_plan(database_url, learner.user_id, "paid")
    page.goto(base_url + "/#/new")
    page.get_by_label("Title (optional)").fill(title)
    page.get_by_role("button", name="Start").click()
    page.get_by_role("heading", name=title).wait_for()
    return learner, page.url.rsplit("/", 1)[-1]


# Records every state of the reply being streamed (a MutationObserver: no polling, no sleeps).
RECORD_STREAMING = """() => {
    window.__seen = [];
    const record = () => {
        const text = document.querySelector(".msg.assistant.streaming .text");
        if (text && text.textContent && window.__seen.at(-1) !== text.textContent) window.__seen.push(text.textContent);
    };
    new MutationObserver(record).observe(document.querySelector(".messages"),
        {subtree: true, childList: true, characterData: true});
}"""


class CuttableProxy:
    """A TCP proxy in front of the API whose open connections can be cut at once: a network
    drop in the middle of a streamed reply, as the browser sees it."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._open |= {client, upstream}
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> int:
        """Reset every connection open now (new ones still go through); how many were cut."""
        with self._lock:
            cut, self._open = self._open, set()
        for sock in cut:
            # shutdown() first: close() alone neither wakes the pump blocked in recv() nor ends the connection.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        return len(cut)

    def close(self) -> None:
        self._listener.close()
        self.cut()
