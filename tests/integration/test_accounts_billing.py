"""POST /billing/events: HMAC-signed, idempotent on the event id, changes the plan."""

from __future__ import annotations

import asyncio
import json
import uuid

from core.crypto import sign
from tests.factories import create_user


def _event(user_id: str, plan: str = "paid", event_type: str = "subscription.updated", **extra) -> bytes:
    return json.dumps(
        {"id": f"evt_{uuid.uuid4().hex}", "type": event_type, "user_id": user_id, "plan": plan, **extra}
    ).encode()


async def _post(client, settings, body: bytes, signature: str | None = None):
    headers = {
        "Content-Type": "application/json",
        "X-Mukti-Signature": signature if signature is not None else sign(settings.billing_secret, body),
    }
    return await client.post("/billing/events", content=body, headers=headers)


async def _plan(db, user_id: str) -> str:
    return await db.fetchval("SELECT plan_id FROM subscriptions WHERE user_id = $1::uuid", user_id)


async def test_signed_event_changes_the_plan_and_is_recorded(client, db, settings):
    user = await create_user(db, settings)
    body = _event(user.id)
    r = await _post(client, settings, body)
    assert r.status_code == 200 and r.json()["status"] == "applied"
    assert await _plan(db, user.id) == "paid"
    assert (await client.get("/me/subscription", headers=user.headers)).json()["limits"]["per_hour"] == 100
    row = await db.fetchrow("SELECT user_id::text, plan_id, event_type FROM billing_events")
    assert tuple(row) == (user.id, "paid", "subscription.updated")


async def test_event_by_email_and_cancellation_returns_to_the_default_plan(client, db, settings):
    user = await create_user(db, settings, plan="paid")
    body = json.dumps({"id": "evt_cancel_1", "type": "subscription.canceled", "email": user.email.upper()}).encode()
    assert (await _post(client, settings, body)).json()["status"] == "applied"
    assert await _plan(db, user.id) == "free"


async def test_replayed_event_changes_nothing(client, db, settings):
    user = await create_user(db, settings)
    body = _event(user.id)
    assert (await _post(client, settings, body)).json()["status"] == "applied"
    # Someone (an admin, a later event) moves the user back; a replay must not undo that.
    await db.execute("UPDATE subscriptions SET plan_id = 'free' WHERE user_id = $1::uuid", user.id)
    replay = await _post(client, settings, body)
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert await _plan(db, user.id) == "free"
    assert await db.fetchval("SELECT count(*) FROM billing_events") == 1


async def test_concurrent_deliveries_of_one_event_apply_once(client, db, settings):
    user = await create_user(db, settings)
    body = _event(user.id)
    responses = await asyncio.gather(*(_post(client, settings, body) for _ in range(10)))
    assert sorted(r.json()["status"] for r in responses) == ["applied"] + ["duplicate"] * 9
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'billing.%'") == 1


async def test_tampered_or_unsigned_event_is_401_and_changes_nothing(client, db, settings):
    user = await create_user(db, settings)
    body = _event(user.id, plan="free")
    tampered = body.replace(b'"free"', b'"paid"')
    for signature, payload in (
        (sign(settings.billing_secret, body), tampered),
        ("", body),
        (sign("some-other-secret", body), body),
        (sign(settings.billing_secret, body).replace("sha256=", "sha1="), body),
    ):
        r = await _post(client, settings, payload, signature)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert await _plan(db, user.id) == "free"
    assert await db.fetchval("SELECT count(*) FROM billing_events") == 0


async def test_invalid_events_are_refused_and_not_recorded(client, db, settings):
    user = await create_user(db, settings)
    cases = {
        _event(user.id, plan="platinum"): "plan",
        _event(str(uuid.uuid4())): "user_id",
        _event("not-a-uuid"): "user_id",
        json.dumps({"id": "evt_x", "type": "subscription.updated", "user_id": user.id}).encode(): "plan",
    }
    for body, field in cases.items():
        r = await _post(client, settings, body)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
    assert (await _post(client, settings, b"{not json")).status_code == 400
    assert await db.fetchval("SELECT count(*) FROM billing_events") == 0
    assert await _plan(db, user.id) == "free"


async def test_payment_failure_marks_the_subscription_past_due(client, db, settings):
    user = await create_user(db, settings, plan="paid")
    body = json.dumps({"id": "evt_pf", "type": "payment.failed", "user_id": user.id}).encode()
    assert (await _post(client, settings, body)).json()["status"] == "applied"
    assert (await client.get("/me/subscription", headers=user.headers)).json()["status"] == "past_due"
