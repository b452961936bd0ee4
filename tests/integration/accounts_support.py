"""Helpers shared by the accounts and admin tests."""

from __future__ import annotations

import uuid

PASSWORD = "correct horse battery staple"


def new_email() -> str:
    return f"person-{uuid.uuid4().hex[:12]}@example.org"


async def register(client, email: str | None = None, password: str = PASSWORD, **extra) -> dict:
    response = await client.post("/auth/register", json={"email": email or new_email(), "password": password, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
