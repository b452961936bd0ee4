"""The response leak check of the `client` fixture really catches stored hashes."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.accounts_support import register
from tests.leaks import ResponseRecorder


def _json_response(text: str) -> httpx.Response:
    return httpx.Response(
        200, text=text, headers={"content-type": "application/json"}, request=httpx.Request("GET", "http://test/leaky")
    )


async def test_recorder_flags_token_and_password_hashes(client, db, database_url):
    await register(client)
    token_hash = await db.fetchval("SELECT token_hash FROM refresh_tokens")
    password_hash = await db.fetchval("SELECT password_hash FROM users")
    for leaky in (f'{{"x": "{token_hash.hex()}"}}', f'{{"x": "{password_hash}"}}', '{"x": "$argon2id$v=19$..."}'):
        recorder = ResponseRecorder()
        await recorder(_json_response(leaky))
        with pytest.raises(AssertionError, match="password or token hashes"):
            await recorder.assert_no_secrets(database_url)
    clean = ResponseRecorder()
    await clean(_json_response('{"x": "nothing secret"}'))
    await clean.assert_no_secrets(database_url)
