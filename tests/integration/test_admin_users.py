"""/admin/users: listing, role and status changes, plan changes, audit log; the CLI's admin."""

from __future__ import annotations

import asyncio

from cli import main
from tests.factories import create_user
from tests.integration.accounts_support import PASSWORD, bearer, new_email, register


async def test_list_users_filters_and_pages(client, db, settings):
    admin = await create_user(db, settings, role="admin")
    for i in range(3):
        await create_user(db, settings, email=f"needle-{i}@example.org")
    await create_user(db, settings, email="hay@example.org")
    seen, cursor = [], None
    while True:
        params = {"q": "NEEDLE", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/admin/users", headers=admin.headers, params=params)).json()
        seen += [item["email"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"needle-{i}@example.org" for i in range(3)]
    everyone = (await client.get("/admin/users", headers=admin.headers)).json()["items"]
    assert len(everyone) == 5 and all(item["plan"] == "free" for item in everyone)
    # LIKE wildcards in q are literal.
    assert (await client.get("/admin/users", headers=admin.headers, params={"q": "%"})).json()["items"] == []


async def test_a_cursor_of_another_listing_is_422_naming_the_cursor(client, db, settings):
    admin = await create_user(db, settings, role="admin")
    await create_user(db, settings)
    users_cursor = (await client.get("/admin/users", headers=admin.headers, params={"limit": 1})).json()["next_cursor"]
    assert users_cursor is not None
    # The same keyset shape as /admin/users (created_at, id), but another listing's cursor.
    for path, params in (("/me/notifications", {}), ("/admin/reports/monthly", {"month": "2024-01"})):
        response = await client.get(path, headers=admin.headers, params={**params, "cursor": users_cursor})
        assert response.status_code == 422 and response.json()["field"] == "cursor", (path, response.text)


async def test_suspension_cuts_off_a_live_access_token_and_the_session(client, db, settings):
    admin = await create_user(db, settings, role="admin")
    tokens = await register(client)
    user_id, headers = tokens["user"]["id"], bearer(tokens["access_token"])
    assert (await client.get("/me", headers=headers)).status_code == 200

    r = await client.patch(f"/admin/users/{user_id}", headers=admin.headers, json={"status": "suspended"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert (await client.get("/me", headers=headers)).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    login = await client.post("/auth/login", json={"email": tokens["user"]["email"], "password": PASSWORD})
    assert login.status_code == 401

    await client.patch(f"/admin/users/{user_id}", headers=admin.headers, json={"status": "active"})
    assert (await client.get("/me", headers=headers)).status_code == 200
    audit = await db.fetch(
        "SELECT actor_id::text, action, details FROM audit_log WHERE target_id = $1 ORDER BY id", user_id
    )
    assert [(a["actor_id"], a["action"]) for a in audit] == [(admin.id, "admin.user_updated")] * 2


async def test_role_change_applies_at_once(client, db, settings):
    admin = await create_user(db, settings, role="admin")
    user = await create_user(db, settings)
    assert (await client.get("/admin/users", headers=user.headers)).status_code == 403
    r = await client.patch(f"/admin/users/{user.id}", headers=admin.headers, json={"role": "admin"})
    assert r.status_code == 200 and r.json()["role"] == "admin"
    assert (await client.get("/admin/users", headers=user.headers)).status_code == 200


async def test_admin_update_validation(client, db, settings):
    admin = await create_user(db, settings, role="admin")
    user = await create_user(db, settings)
    for body, field in (({"role": "owner"}, "role"), ({"status": "deleted"}, "status"), ({"plan": "paid"}, "plan")):
        r = await client.patch(f"/admin/users/{user.id}", headers=admin.headers, json=body)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    r = await client.patch(f"/admin/users/{admin.id}", headers=admin.headers, json={"role": "user"})
    assert r.status_code == 422
    missing = await client.patch(
        "/admin/users/00000000-0000-0000-0000-000000000000", headers=admin.headers, json={"role": "user"}
    )
    assert missing.status_code == 404
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0


async def test_admin_sets_the_plan(client, db, settings):
    admin = await create_user(db, settings, role="admin")
    user = await create_user(db, settings)
    await db.execute(
        "UPDATE subscriptions SET blocked_until = now() + interval '1 hour' WHERE user_id = $1::uuid", user.id
    )
    r = await client.put(f"/admin/users/{user.id}/subscription", headers=admin.headers, json={"plan": "paid"})
    assert r.status_code == 200 and r.json()["plan"] == "paid" and r.json()["blocked_until"] is None
    unknown = await client.put(f"/admin/users/{user.id}/subscription", headers=admin.headers, json={"plan": "platinum"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "plan"
    assert await db.fetchval("SELECT plan_id FROM subscriptions WHERE user_id = $1::uuid", user.id) == "paid"
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'admin.plan_changed'") == 1


async def test_cli_creates_the_first_admin_and_promotes(database_url, db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)

    def mukti(*argv: str):  # the CLI runs its own event loop, so it gets a thread of its own
        return asyncio.to_thread(main, list(argv))

    email = new_email()
    assert await mukti("admin", "create", "--email", email, "--password", PASSWORD) == 0
    assert await mukti("admin", "create", "--email", email.upper(), "--password", PASSWORD) == 1
    assert await mukti("admin", "create", "--email", new_email(), "--password", "short") == 2
    assert await mukti("admin", "promote", "--email", new_email(), "--role", "moderator") == 1
    row = await db.fetchrow(
        """SELECT u.role, s.plan_id, u.password_hash LIKE '$argon2id$%' AS argon2
                                 FROM users u JOIN subscriptions s ON s.user_id = u.id WHERE u.email = $1""",
        email,
    )
    assert tuple(row) == ("admin", "free", True)
    assert await mukti("admin", "promote", "--email", email, "--role", "moderator") == 0
    assert await db.fetchval("SELECT role FROM users WHERE email = $1", email) == "moderator"
