"""Arranging rows directly in the database for tests (no HTTP round trips)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import asyncpg

from api.security import issue_access_token
from core.settings import Settings


@dataclass(frozen=True)
class TestUser:
    id: str
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_user(
    db: asyncpg.Connection,
    settings: Settings,
    *,
    role: str = "user",
    plan: str = "free",
    email: str | None = None,
    preferences: dict | None = None,
) -> TestUser:
    """An active user with a subscription to `plan` and a valid access token."""
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.org"
    user_id = await db.fetchval(
        "INSERT INTO users (email, display_name, role, preferences) VALUES ($1, $2, $3, $4::jsonb) RETURNING id::text",
        email,
        email.split("@")[0],
        role,
        json.dumps(preferences or {}),
    )
    await db.execute("INSERT INTO subscriptions (user_id, plan_id) VALUES ($1::uuid, $2)", user_id, plan)
    return TestUser(id=user_id, email=email, role=role, token=issue_access_token(settings, user_id, role))
