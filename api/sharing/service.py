"""Share links: creation, listing, revocation, analytics and the public view.

Secrets never reach the database in clear: the link token is stored as its SHA-256
(256 random bits need no slow hash), the share password as an Argon2id hash, and the
viewer's address only as a keyed hash (HMAC), used for unique-visitor counts and for
throttling password guesses.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import asyncpg

from api.accounts.passwords import hash_password, verify_password
from api.enums import ShareStatus
from api.errors import ApiError, not_found, validation_error
from api.paging import page
from api.records import as_struct
from api.sharing.schemas import (
    DayViews,
    ReferrerViews,
    Share,
    ShareAnalytics,
    ShareCreate,
    ShareCreated,
    SharedConversation,
    SharedMessage,
    ShareList,
)
from core.crypto import SHARE_VISITOR, derive_key, hash_token
from core.cursors import TIMESTAMP, UUID, decode, encode
from core.database.gateway import Db
from core.settings import Settings

DEFAULT_EXPIRES_IN = 7 * 24 * 3600
DEFAULT_MAX_VIEWS = 100
# Wrong share-password guesses allowed per link and address, and per link from all
# addresses together (so rotating addresses does not help), each in its sliding window.
# Beyond either, every password for the link is refused unverified with 429, the right
# one included: a guess that is verified and right would be served, so verifying past
# the limit would bound nothing (a guesser reads every non-200 as "wrong").
PASSWORD_MAX_FAILURES = 5
PASSWORD_WINDOW_SECONDS = 15 * 60
PASSWORD_LINK_MAX_FAILURES = 50
PASSWORD_LINK_WINDOW_SECONDS = 60 * 60
# A guess in flight holds its place for one Argon2 verification; the lease only matters
# when a process dies mid-verification. Waiters ask again with backoff (first, max).
PASSWORD_LEASE_SECONDS = 60
PASSWORD_WAIT_SECONDS = 5.0
PASSWORD_POLL_SECONDS = (0.005, 0.05)
REFERRER_MAX_LENGTH = 253  # the longest DNS name


def new_token() -> str:
    return secrets.token_urlsafe(32)


def visitor_hash(settings: Settings, address: str) -> bytes:
    """A keyed hash of the client address: stable per server secret, not reversible by a
    database reader (the address space is small, so a plain hash would be)."""
    return hmac.new(derive_key(settings.jwt_secret, SHARE_VISITOR), address.encode(), hashlib.sha256).digest()


def referrer_host(header: str | None) -> str | None:
    """Only the host of a Referer header: paths and queries can carry other people's secrets."""
    if not header:
        return None
    try:
        host = urlsplit(header.strip()).hostname
    except ValueError:
        return None
    if not host or len(host) > REFERRER_MAX_LENGTH:
        return None
    return host.lower()


def share_status(row: asyncpg.Record, now: datetime) -> ShareStatus:
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] <= now:
        return "expired"
    if row["views"] >= row["max_views"]:
        return "exhausted"
    return "active"


def remaining_views(row: asyncpg.Record, status: str) -> int:
    return 0 if status in ("revoked", "expired") else row["max_views"] - row["views"]


async def create_share(
    db: Db, settings: Settings, user_id: str, conversation_id: uuid.UUID, body: ShareCreate, base_url: str
) -> ShareCreated:
    expires_in = DEFAULT_EXPIRES_IN if body.expires_in is None else body.expires_in
    if expires_in > settings.share_max_expiry:
        raise validation_error("expires_in", f"must be at most {settings.share_max_expiry} seconds")
    max_views = DEFAULT_MAX_VIEWS if body.max_views is None else body.max_views
    password_hash = await hash_password(body.password) if body.password is not None else None
    token = new_token()
    row = await db.fetchrow(
        "sharing_create",
        user_id=user_id,
        conversation_id=conversation_id,
        token_hash=hash_token(token),
        password_hash=password_hash,
        expires_in=expires_in,
        max_views=max_views,
    )
    if row is None:
        raise not_found("conversation")
    return as_struct(
        row,
        ShareCreated,
        token=token,
        url=f"{base_url.rstrip('/')}/shared/{token}",
        password_protected=password_hash is not None,
    )


async def list_shares(db: Db, user_id: str, conversation_id: uuid.UUID, limit: int, cursor: str | None) -> ShareList:
    after_at, after_id = decode(cursor, "shares", TIMESTAMP, UUID) if cursor else (None, None)
    async with db.transaction() as tx:
        if not await tx.fetchval("sharing_conversation_owned", conversation_id=conversation_id, user_id=user_id):
            raise not_found("conversation")
        rows = await tx.fetch(
            "sharing_list",
            conversation_id=conversation_id,
            user_id=user_id,
            after_at=after_at,
            after_id=after_id,
            limit=limit + 1,
        )
    listed, next_cursor = page(rows, limit, lambda row: encode("shares", row["created_at"], row["id"]))
    now = datetime.now(UTC)
    items = []
    for row in listed:
        status = share_status(row, now)
        items.append(Share(**row, status=status, remaining_views=remaining_views(row, status)))
    return ShareList(items=items, next_cursor=next_cursor)


async def revoke_share(db: Db, user_id: str, share_id: uuid.UUID) -> None:
    if await db.fetchval("sharing_revoke", share_id=share_id, user_id=user_id) is None:
        raise not_found("share")


async def share_analytics(db: Db, user_id: str, share_id: uuid.UUID) -> ShareAnalytics:
    row = await db.fetchrow("sharing_analytics", share_id=share_id, user_id=user_id)
    if row is None:
        raise not_found("share")
    return ShareAnalytics(
        **{
            **row,
            "by_day": [DayViews(**d) for d in row["by_day"]],
            "referrers": [ReferrerViews(**r) for r in row["referrers"]],
        },
        remaining_views=remaining_views(row, share_status(row, datetime.now(UTC))),
    )


async def _begin_guess(db: Db, subjects: list[str], limits: list[int]) -> list[int]:
    """Wait for a turn to verify a share password; refuse when wrong guesses fill a window.

    "Busy" (guesses in flight could still fill the window) is answered by asking again
    shortly rather than by refusing: those guesses take one Argon2 verification, and
    refusing would turn away right passwords because of other right passwords.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PASSWORD_WAIT_SECONDS
    delay = PASSWORD_POLL_SECONDS[0]
    while True:
        slot = await db.fetchrow(
            "sharing_guess_begin", subjects=subjects, limits=limits, lease_seconds=PASSWORD_LEASE_SECONDS
        )
        assert slot is not None  # the function returns one row
        retry_after = slot["retry_after"]
        if not slot["busy"] and retry_after == 0:
            return slot["hit_ids"]
        if not slot["busy"] or loop.time() >= deadline:
            # Still busy at the deadline means a lease abandoned by a dead process.
            retry_after = max(retry_after, 1)
            raise ApiError(
                429,
                f"too many password attempts for this share; retry in {retry_after} seconds",
                code="rate_limited",
                headers={"Retry-After": str(retry_after)},
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, PASSWORD_POLL_SECONDS[1])


async def _check_password(db: Db, link_id: str, password_hash: str, password: str | None, visitor: bytes) -> None:
    """Verify a share password before any view is counted. Only wrong guesses count, per
    (link, address) and per link across addresses; see mukti_share_guess_begin_v1."""
    if not password:
        raise ApiError(
            401, "this share is password-protected: send the password in X-Share-Password", code="unauthorized"
        )
    subjects = [f"{link_id}:{visitor.hex()}", link_id]
    hit_ids = await _begin_guess(db, subjects, [PASSWORD_MAX_FAILURES, PASSWORD_LINK_MAX_FAILURES])
    if await verify_password(password_hash, password):
        await db.execute("sharing_guess_right", hit_ids=hit_ids)
        return
    await db.execute(
        "sharing_guess_wrong",
        hit_ids=hit_ids,
        subjects=subjects,
        windows=[PASSWORD_WINDOW_SECONDS, PASSWORD_LINK_WINDOW_SECONDS],
    )
    raise ApiError(401, "wrong password for this share", code="unauthorized")


async def view_share(
    db: Db, settings: Settings, token: str, password: str | None, address: str, referer: str | None
) -> SharedConversation:
    token_hash = hash_token(token)
    visitor = visitor_hash(settings, address)
    referrer = referrer_host(referer)
    view = {"token_hash": token_hash, "referrer": referrer, "visitor_hash": visitor}
    row = await db.fetchrow("sharing_view", password_ok=False, **view)
    if row is not None and row["outcome"] == "password_required":
        await _check_password(db, row["link_id"], row["password_hash"], password, visitor)
        row = await db.fetchrow("sharing_view", password_ok=True, **view)
    # No row: the link was counted but its conversation deleted meanwhile (the link goes with it).
    if row is None or row["outcome"] == "not_found":
        raise not_found("share")
    if row["outcome"] != "ok":
        raise ApiError(410, "this share has expired, was revoked or has no views left", code="gone")
    messages = await db.fetch(
        "sharing_snapshot_messages", conversation_id=row["conversation_id"], snapshot_seq=row["snapshot_seq"]
    )
    return SharedConversation(
        title=row["title"], technique=row["technique"], messages=[SharedMessage(**dict(m)) for m in messages]
    )
