"""Request ids, body limits (413 before reading it all), 415, WWW-Authenticate, offline docs pages."""

from __future__ import annotations

import json
import logging
import re

import pytest

from core.logs import JsonFormatter, RequestIdFilter
from tests.factories import create_user


async def test_a_sane_request_id_is_kept_and_answered(client):
    response = await client.get("/health", headers={"X-Request-ID": "client-id.42"})
    assert response.headers["X-Request-ID"] == "client-id.42"


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "bad id with spaces", "new\u00e9"])
async def test_a_missing_or_odd_request_id_is_replaced(client, sent):
    headers = {} if sent is None else {"X-Request-ID": sent.encode("utf-8")}
    response = await client.get("/nowhere", headers=headers)
    assert response.status_code == 404
    rid = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert response.json()["instance"] == rid


async def test_a_500_carries_the_request_id_and_its_log_line_too(client, db, settings):
    user = await create_user(db, settings)
    await db.execute("DROP TABLE notifications CASCADE")  # an unmapped database error: a bug, as far as the API knows
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("mukti.errors")
    logger.addHandler(handler)
    try:
        response = await client.get("/me/notifications", headers={**user.headers, "X-Request-ID": "report-me-1"})
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 500
    body = response.json()
    assert body["instance"] == "report-me-1" and "report-me-1" in body["detail"]
    assert response.headers["X-Request-ID"] == "report-me-1"
    assert [getattr(r, "request_id", None) for r in records] == ["report-me-1"]
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "report-me-1" and line["level"] == "ERROR" and "UndefinedTable" in line["exc"]


async def test_every_401_names_its_scheme(client):
    missing = await client.get("/me")
    invalid = await client.get("/me", headers={"Authorization": "Bearer nonsense"})
    login = await client.post("/auth/login", json={"email": "nobody@example.org", "password": "wrong password"})
    assert [r.status_code for r in (missing, invalid, login)] == [401, 401, 401]
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="mukti"'
    assert invalid.headers["WWW-Authenticate"] == 'Bearer realm="mukti", error="invalid_token"'
    assert login.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_body_that_is_not_json_is_415(client, db, settings):
    user = await create_user(db, settings)
    response = await client.post(
        "/conversations", content=b'{"title": "plain"}', headers={**user.headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert await db.fetchval("SELECT count(*) FROM conversations") == 0


class Body:
    """A streamed request body that counts how much of it the server pulled."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.size, self.chunk, self.sent = size, chunk, 0

    async def __aiter__(self):
        while self.sent < self.size:
            self.sent += self.chunk
            yield b" " * self.chunk


async def test_an_announced_oversized_body_is_413_before_any_of_it_is_read(client, db, settings):
    user = await create_user(db, settings)
    body = Body(3 * 1024 * 1024)
    response = await client.post(
        "/conversations",
        content=body,
        headers={**user.headers, "Content-Type": "application/json", "Content-Length": str(body.size)},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert body.sent == 0


async def test_a_streamed_oversized_body_is_413_once_the_limit_is_passed(client, db, settings):
    user = await create_user(db, settings)
    body = Body(3 * 1024 * 1024)  # chunked: no Content-Length
    response = await client.post(
        "/conversations", content=body, headers={**user.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert body.sent <= settings.max_body_size + body.chunk
    assert await db.fetchval("SELECT count(*) FROM conversations") == 0


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger", "/schema/redoc"])
async def test_docs_pages_load_nothing_from_elsewhere(client, path):
    page = await client.get(path)
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert sources and all(s.startswith("/schema/assets/") for s in sources), sources
    for source in sources:
        asset = await client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 500, source
