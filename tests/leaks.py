"""The check that no response leaks a password hash or a token hash.

The `client` fixture records every JSON body it receives; at teardown the bodies are
compared with every secret hash stored in the test database (hex and base64 forms of
token hashes, password hashes verbatim) and with the Argon2 prefix.
"""

from __future__ import annotations

import base64

import asyncpg
import httpx

_STORED_SECRETS = """
SELECT token_hash, NULL::text FROM refresh_tokens
UNION ALL SELECT token_hash, password_hash FROM shared_links
UNION ALL SELECT NULL, password_hash FROM users WHERE password_hash IS NOT NULL
"""


class ResponseRecorder:
    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []

    async def __call__(self, response: httpx.Response) -> None:
        if "json" in response.headers.get("content-type", ""):
            await response.aread()
            self.bodies.append((f"{response.request.method} {response.request.url.path}", response.text))

    async def assert_no_secrets(self, database_url: str) -> None:
        if not self.bodies:
            return
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(_STORED_SECRETS)
        finally:
            await conn.close()
        secrets = {"$argon2"}
        for token_hash, password_hash in rows:
            if token_hash is not None:
                secrets |= {
                    token_hash.hex(),
                    base64.b64encode(token_hash).decode(),
                    base64.urlsafe_b64encode(token_hash).decode().rstrip("="),
                }
            if password_hash is not None:
                secrets.add(password_hash)
        leaks = [(where, secret) for where, body in self.bodies for secret in secrets if secret in body]
        assert not leaks, f"responses contain password or token hashes: {leaks}"
