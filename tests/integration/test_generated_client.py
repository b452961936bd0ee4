"""A client generated from the served document with openapi-python-client (as a client
developer would) gets typed problem+json for 401, 404, 422 and 429, and typed success
bodies with enums."""

from __future__ import annotations

import enum
import importlib
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.factories import create_user

GENERATOR = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or shutil.which(
    "openapi-python-client"
)
pytestmark = pytest.mark.skipif(GENERATOR is None, reason="needs openapi-python-client (the dev dependency group)")


@pytest.fixture
async def generated(client, tmp_path: Path, monkeypatch):
    """The package `mukti_client`, generated from /schema/openapi.json and imported."""
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps((await client.get("/schema/openapi.json")).json()))
    assert GENERATOR is not None
    result = subprocess.run(
        [GENERATOR, "generate", "--path", str(document), "--meta", "none", "--output-path", "mukti_client"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "mukti_client" or m.startswith("mukti_client.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    yield importlib.import_module("mukti_client")
    for name in [m for m in sys.modules if m == "mukti_client" or m.startswith("mukti_client.")]:
        del sys.modules[name]


def _client(generated, client: httpx.AsyncClient, token: str | None = None):
    """The generated client, sending through the in-process app (the test client's transport)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    gen = generated.Client(base_url=str(client.base_url))
    gen.set_async_httpx_client(httpx.AsyncClient(transport=client._transport, base_url=client.base_url,
                                                 headers=headers))  # fmt: skip
    return gen


async def test_the_generated_client_gets_typed_problems(client, db, settings, generated):
    from mukti_client.api.accounts import get_me
    from mukti_client.api.conversations import ask_question, create_conversation, get_queue_entry
    from mukti_client.models import ConversationCreate, Problem, QuestionAccepted, QuestionCreate

    user = await create_user(db, settings)
    anonymous, authed = _client(generated, client), _client(generated, client, user.token)

    unauthorized = await get_me.asyncio_detailed(client=anonymous)
    assert unauthorized.status_code == 401 and isinstance(unauthorized.parsed, Problem)
    assert unauthorized.parsed.code == "unauthorized" and unauthorized.parsed.instance

    missing = await get_queue_entry.asyncio_detailed(uuid.uuid4(), client=authed)
    assert missing.status_code == 404 and isinstance(missing.parsed, Problem)
    assert missing.parsed.code == "not_found"

    conversation = await create_conversation.asyncio(client=authed, body=ConversationCreate())
    invalid = await ask_question.asyncio_detailed(conversation.id, client=authed, body=QuestionCreate(content=" "))
    assert invalid.status_code == 422 and isinstance(invalid.parsed, Problem)
    assert invalid.parsed.code == "validation_failed" and invalid.parsed.field == "content"
    assert [e.field for e in invalid.parsed.errors] == ["content"]

    answers = []
    for _ in range(settings.burst_limit + 1):
        answers.append(await ask_question.asyncio_detailed(conversation.id, client=authed,
                                                           body=QuestionCreate(content="Why?")))  # fmt: skip
    accepted, limited = answers[0], answers[-1]
    assert isinstance(accepted.parsed, QuestionAccepted) and accepted.parsed.status == "pending"
    assert accepted.headers["Location"] == f"/queue/{accepted.parsed.request_id}"
    assert limited.status_code == 429 and isinstance(limited.parsed, Problem)
    assert limited.parsed.code in ("rate_limited", "quota_exhausted") and int(limited.headers["Retry-After"]) >= 1

    # The queue entry's status is an enum type of the client, not a bare string.
    entry = await get_queue_entry.asyncio(uuid.UUID(accepted.parsed.request_id), client=authed)
    assert isinstance(entry.status, enum.Enum) and entry.status.value in (
        "pending",
        "processing",
        "completed",
        "failed",
    )
