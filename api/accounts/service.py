"""Accounts: registration, login, tokens, profile, subscription, billing events.

Every function takes the database gateway (core/database/gateway.py) and settings
explicitly; the SQL is in db/sql/queries/accounts.sql and the atomic parts in SQL functions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec

from api.accounts import schemas
from api.accounts.passwords import hash_password, needs_rehash, verify_password
from api.errors import ApiError, not_found, validation_error
from api.paging import page
from api.records import as_struct
from api.security import issue_access_token
from core import cursors
from core.crypto import LOGIN_THROTTLE, derive_key, hash_token, signature_matches
from core.database.gateway import Db
from core.emails import normalize_email
from core.netguard import UnsafeTarget, check_url
from core.settings import Settings

# Login throttling: failures per window, per email and per client address (an address
# is shared behind NAT, so it gets more room than one account).
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_EMAIL = 5
LOGIN_FAILURES_PER_ADDRESS = 20

# Registration throttling: accounts per client address and over all addresses, per
# window (settings MUKTI_REGISTER_PER_ADDRESS, MUKTI_REGISTER_GLOBAL). Each account is an
# Argon2 hash and a fresh free quota; every attempt counts, successful or not.
REGISTER_WINDOW = timedelta(hours=1)
REGISTER_GLOBAL_SUBJECT = "all"

MAX_PREFERENCES_BYTES = 16 * 1024

_BAD_CREDENTIALS = "the email or password is not correct"


def _new_refresh_token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def _refresh_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.refresh_token_ttl)


def _throttle_subject(settings: Settings, kind: str, value: str) -> str:
    # Keyed, so the rate_limits table holds neither emails nor addresses.
    return hmac.new(
        derive_key(settings.jwt_secret, LOGIN_THROTTLE), f"{kind}:{value}".encode(), hashlib.sha256
    ).hexdigest()


def user_of(row: asyncpg.Record) -> schemas.User:
    return as_struct(row, schemas.User)


def _tokens(settings: Settings, user_id: str, role: str, refresh_token: str) -> dict[str, Any]:
    return {
        "access_token": issue_access_token(settings, user_id, role),
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl,
    }


# -- registration and login ---------------------------------------------------------


def _too_many(what: str, retry_after: int) -> ApiError:
    return ApiError(
        429, f"too many {what}; try again later", code="rate_limited", headers={"Retry-After": str(retry_after)}
    )


async def register(
    db: Db, settings: Settings, data: schemas.RegisterRequest, client_address: str
) -> schemas.AuthResponse:
    # Before the (costly) hash: a refused attempt spends no Argon2 time.
    throttle = await db.fetchrow(
        "accounts_register_throttle",
        subjects=[_throttle_subject(settings, "address", client_address), REGISTER_GLOBAL_SUBJECT],
        limits=[settings.register_per_address, settings.register_global],
        window=REGISTER_WINDOW,
    )
    assert throttle is not None  # a function call: always one row
    if throttle["retry_after"] > 0:
        raise _too_many("registrations", throttle["retry_after"])
    password_hash = await hash_password(data.password)
    token, token_hash = _new_refresh_token()
    row = await db.fetchrow(
        "accounts_register",
        email=normalize_email(data.email),
        password_hash=password_hash,
        display_name=data.display_name,
        refresh_token_hash=token_hash,
        refresh_ttl=_refresh_ttl(settings),
    )
    assert row is not None  # INSERT ... RETURNING: a row, or a unique violation
    return schemas.AuthResponse(**_tokens(settings, row["id"], row["role"], token), user=user_of(row))


async def login(db: Db, settings: Settings, data: schemas.LoginRequest, client_address: str) -> schemas.AuthResponse:
    email = normalize_email(data.email)
    subjects = [
        _throttle_subject(settings, "email", email),
        _throttle_subject(settings, "address", client_address),
    ]
    throttle = await db.fetchrow(
        "accounts_login_throttle",
        subjects=subjects,
        limits=[LOGIN_FAILURES_PER_EMAIL, LOGIN_FAILURES_PER_ADDRESS],
        window=LOGIN_WINDOW,
    )
    assert throttle is not None  # a function call: always one row
    if throttle["retry_after"] > 0:
        raise _too_many("failed logins", throttle["retry_after"])

    row = await db.fetchrow("accounts_user_for_login", email=email)
    stored = row["password_hash"] if row is not None else None
    # An unknown email, a wrong password and an unusable account read the same.
    if not await verify_password(stored, data.password) or row is None or row["status"] != "active":
        raise ApiError(401, _BAD_CREDENTIALS, code="unauthorized")
    assert stored is not None  # verify_password refuses a missing hash

    token, token_hash = _new_refresh_token()
    async with db.transaction() as tx:
        await tx.execute("accounts_forget_throttle_hits", hit_ids=throttle["hit_ids"])
        if needs_rehash(stored):
            await tx.execute(
                "accounts_update_password_hash",
                user_id=row["id"],
                new_hash=await hash_password(data.password),
                old_hash=stored,
            )
        await tx.execute(
            "accounts_issue_refresh_token",
            user_id=row["id"],
            refresh_token_hash=token_hash,
            refresh_ttl=_refresh_ttl(settings),
        )
    return schemas.AuthResponse(**_tokens(settings, row["id"], row["role"], token), user=user_of(row))


_REFRESH_REFUSALS = {
    "unknown": "the refresh token is not valid",
    "revoked": "the refresh token has been revoked",
    "reused": "the refresh token was already used; the whole session has been revoked",
    "expired": "the refresh token has expired",
    "inactive": "this account cannot be used",
}


async def refresh(db: Db, settings: Settings, refresh_token: str) -> schemas.TokenPair:
    token, token_hash = _new_refresh_token()
    row = await db.fetchrow(
        "accounts_rotate_refresh_token",
        token_hash=hash_token(refresh_token),
        refresh_token_hash=token_hash,
        refresh_ttl=_refresh_ttl(settings),
    )
    assert row is not None  # a function call: always one row
    if row["outcome"] != "rotated":
        raise ApiError(401, _REFRESH_REFUSALS[row["outcome"]], code="unauthorized")
    return schemas.TokenPair(**_tokens(settings, row["account_id"], row["account_role"], token))


async def logout(db: Db, refresh_token: str) -> None:
    await db.execute("accounts_logout", token_hash=hash_token(refresh_token))


# -- the caller's own account -------------------------------------------------------


async def get_me(db: Db, user_id: str) -> schemas.User:
    row = await db.fetchrow("accounts_get_me", user_id=user_id)
    if row is None:
        raise not_found("user")
    return user_of(row)


def _check_webhook_url(url: str, allow_private: bool) -> None:
    try:
        check_url(url, allow_private=allow_private)
    except UnsafeTarget as exc:
        raise validation_error("webhook_url", str(exc)) from exc


def _check_follow_ups(value: Any) -> None:
    """preferences.follow_ups = {enabled: bool, after_days: 1..365} (jobs/dialogue.py)."""
    field = "preferences.follow_ups"
    if not isinstance(value, dict) or set(value) - {"enabled", "after_days"}:
        raise validation_error(field, "must be an object {enabled, after_days}")
    if not isinstance(value.get("enabled"), bool):
        raise validation_error(f"{field}.enabled", "must be true or false")
    days = value.get("after_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise validation_error(f"{field}.after_days", "must be a whole number of days from 1 to 365")


async def update_me(
    db: Db, user_id: str, data: schemas.UpdateMeRequest, *, allow_private_webhooks: bool
) -> schemas.User:
    sent = {name: getattr(data, name) is not msgspec.UNSET for name in data.__struct_fields__}
    if sent["preferences"] and len(json.dumps(data.preferences)) > MAX_PREFERENCES_BYTES:
        raise validation_error("preferences", f"must be at most {MAX_PREFERENCES_BYTES} bytes as JSON")
    if isinstance(data.preferences, dict) and "follow_ups" in data.preferences:
        _check_follow_ups(data.preferences["follow_ups"])
    if isinstance(data.webhook_url, str):  # sent, and not a removal (null)
        _check_webhook_url(data.webhook_url, allow_private_webhooks)
    row = await db.fetchrow(
        "accounts_update_me",
        user_id=user_id,
        set_display_name=sent["display_name"],
        display_name=data.display_name if sent["display_name"] else None,
        set_preferences=sent["preferences"],
        preferences=data.preferences if sent["preferences"] else None,
        set_webhook_url=sent["webhook_url"],
        webhook_url=data.webhook_url if sent["webhook_url"] else None,
    )
    if row is None:
        raise not_found("user")
    return user_of(row)


async def delete_me(db: Db, user_id: str) -> None:
    """Erase the account at once, in one transaction (mukti_erase_user_v1, docs/privacy.md)."""
    await db.execute("accounts_erase", user_id=user_id)


async def subscription(db: Db, user_id: str) -> schemas.Subscription:
    row = await db.fetchrow("accounts_subscription", user_id=user_id)
    if row is None:
        raise not_found("subscription")
    return as_struct(
        row,
        schemas.Subscription,
        limits=as_struct(row, schemas.Limits),
        usage=as_struct(row, schemas.Usage, cost_today=str(row["cost_today"])),
        resets=schemas.Resets(hour=row["reset_hour"], day=row["reset_day"], month=row["reset_month"]),
    )


async def notifications(db: Db, user_id: str, limit: int, cursor: str | None) -> schemas.NotificationPage:
    after_at, after_id = (
        cursors.decode(cursor, "notifications", cursors.TIMESTAMP, cursors.UUID) if cursor else (None, None)
    )
    rows = await db.fetch(
        "accounts_notifications", user_id=user_id, after_at=after_at, after_id=after_id, limit=limit + 1
    )
    items, next_cursor = page(rows, limit, lambda r: cursors.encode("notifications", r["created_at"], r["id"]))
    return schemas.NotificationPage(items=[schemas.Notification(**dict(r)) for r in items], next_cursor=next_cursor)


# Where each table with a user_id appears in GET /me/export: a section, or why it has
# none. tests/integration/test_privacy.py checks this against the catalog, so a new
# table cannot be forgotten.
EXPORT_COVERAGE = {
    "subscriptions": "subscription",
    "conversations": "conversations",
    "recent_messages": "conversations",
    "archived_messages": "conversations",
    "techniques": "techniques",
    "technique_versions": "techniques",
    "resources": "resources",
    "votes": "votes",
    "shared_links": "shares",
    "shared_link_views": "share_views",
    "daily_usage_aggregates": "usage",
    "usage_events": "usage_events",
    "notifications": "notifications",
    "billing_events": "billing_events",
    "refresh_tokens": "sessions",
    "request_queue": "requests",
    "webhook_deliveries": "webhook_deliveries",
    "rate_limits": "rate_limits",
    "archived_message_months": None,  # an index of which months hold archived messages, exported as messages
    # The text of a reply while it is generated: deleted once stored (exported as messages).
    "request_stream_chunks": None,
    "message_versions": "message_versions",
    "message_feedback": "feedback",
}


async def _export_sections(tx: Db, user_id: str) -> dict[str, list[asyncpg.Record]]:
    # One literal query key per section, so that grep finds each query's caller.
    return {
        "conversations": await tx.fetch("accounts_export_conversations", user_id=user_id),
        "techniques": await tx.fetch("accounts_export_techniques", user_id=user_id),
        "resources": await tx.fetch("accounts_export_resources", user_id=user_id),
        "votes": await tx.fetch("accounts_export_votes", user_id=user_id),
        "shares": await tx.fetch("accounts_export_shares", user_id=user_id),
        "share_views": await tx.fetch("accounts_export_share_views", user_id=user_id),
        "usage": await tx.fetch("accounts_export_usage", user_id=user_id),
        "usage_events": await tx.fetch("accounts_export_usage_events", user_id=user_id),
        "notifications": await tx.fetch("accounts_export_notifications", user_id=user_id),
        "billing_events": await tx.fetch("accounts_export_billing_events", user_id=user_id),
        "sessions": await tx.fetch("accounts_export_sessions", user_id=user_id),
        "requests": await tx.fetch("accounts_export_requests", user_id=user_id),
        "webhook_deliveries": await tx.fetch("accounts_export_webhook_deliveries", user_id=user_id),
        "rate_limits": await tx.fetch("accounts_export_rate_limits", user_id=user_id),
        "message_versions": await tx.fetch("accounts_export_message_versions", user_id=user_id),
        "feedback": await tx.fetch("accounts_export_feedback", user_id=user_id),
    }


async def export_me(db: Db, user_id: str) -> dict[str, Any]:
    """Everything held about the caller, read from one snapshot. Never a password or token hash."""
    async with db.transaction(isolation="repeatable_read", readonly=True) as tx:
        profile = await tx.fetchrow("accounts_export_profile", user_id=user_id)
        if profile is None:
            raise not_found("user")
        try:
            current_subscription: Any = await subscription(tx, user_id)
        except ApiError:
            current_subscription = None
        sections = await _export_sections(tx, user_id)
    return {
        "profile": dict(profile),
        "subscription": current_subscription,
        **{name: [dict(r) for r in rows] for name, rows in sections.items()},
    }


# -- billing events -------------------------------------------------------------------


def check_signature(secret: str, body: bytes, header: str | None) -> None:
    if not signature_matches(secret, body, header):
        raise ApiError(401, "the billing event signature is missing or wrong", code="unauthorized")


def parse_billing_event(body: bytes) -> schemas.BillingEvent:
    try:
        event = msgspec.json.decode(body, type=schemas.BillingEvent)
    except msgspec.ValidationError as exc:
        field = str(exc).rpartition("`$.")[2].rstrip("`") or "body"
        raise validation_error(field, str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "the request body is not valid JSON", code="bad_request") from exc
    if event.user_id is not None:
        try:
            uuid.UUID(event.user_id)
        except ValueError as exc:
            raise validation_error("user_id", "must be a user id") from exc
    return event


_PLAN_EVENTS = ("subscription.created", "subscription.updated")


async def change_plan(db: Db, user_id: str, plan: str) -> None:
    await db.execute("accounts_change_plan", user_id=user_id, plan=plan)


async def apply_billing_event(db: Db, body: bytes, event: schemas.BillingEvent) -> schemas.BillingResult:
    """Record the event and apply it, in one transaction; a replayed id changes nothing."""
    if event.type in _PLAN_EVENTS and not event.plan:
        raise validation_error("plan", f"is required for {event.type}")
    async with db.transaction() as tx:
        user_id = None
        if event.user_id or event.email:
            user_id = await tx.fetchval(
                "accounts_billing_user",
                user_id=event.user_id,
                email=normalize_email(event.email) if event.email else None,
            )
            if user_id is None:
                raise validation_error("user_id" if event.user_id else "email", "no such account")
        recorded = await tx.fetchval(
            "accounts_record_billing_event",
            event_id=event.id,
            provider=event.provider,
            event_type=event.type,
            user_id=user_id,
            plan=event.plan,
            payload=json.loads(body),
        )
        if recorded is None:
            return schemas.BillingResult(id=event.id, status="duplicate")
        if user_id is None:
            return schemas.BillingResult(id=event.id, status="ignored")
        if event.type in _PLAN_EVENTS and event.plan:  # required for these types: checked above
            await change_plan(tx, user_id, event.plan)
        elif event.type == "subscription.canceled":
            await change_plan(tx, user_id, await tx.fetchval("accounts_default_plan"))
        elif event.type == "payment.failed":
            await tx.execute("accounts_set_subscription_status", user_id=user_id, status="past_due")
        else:
            return schemas.BillingResult(id=event.id, status="ignored")
        await audit(tx, None, f"billing.{event.type}", "user", user_id, {"event_id": event.id, "plan": event.plan})
    return schemas.BillingResult(id=event.id, status="applied")


async def audit(
    db: Db,
    actor_id: str | None,
    action: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any],
) -> None:
    await db.execute(
        "accounts_audit",
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )


# -- the CLI's account commands -------------------------------------------------------


async def create_admin(db: Db, email: str, password: str, display_name: str | None) -> str:
    return await db.fetchval(
        "accounts_create_admin",
        email=normalize_email(email),
        password_hash=await hash_password(password),
        display_name=display_name,
    )


async def set_role(db: Db, email: str, role: str) -> str | None:
    return await db.fetchval("accounts_set_role_by_email", email=normalize_email(email), role=role)
