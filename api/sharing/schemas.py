"""Request and response bodies of the sharing routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.enums import MessageRole, ShareStatus

MAX_VIEWS_LIMIT = 100_000
PASSWORD_MIN_LENGTH = 4
PASSWORD_MAX_LENGTH = 256  # Argon2 hashes anything, but an unbounded input is a cheap DoS


class ShareCreate(msgspec.Struct, forbid_unknown_fields=True):
    # Upper bound of expires_in is a setting (share_max_expiry), checked in the service.
    expires_in: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_views: Annotated[int, msgspec.Meta(ge=1, le=MAX_VIEWS_LIMIT)] | None = None
    password: Annotated[str, msgspec.Meta(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)] | None = None


class ShareCreated(msgspec.Struct):
    """The token appears here once and never again: only its hash is stored."""

    id: str
    token: str
    url: str
    expires_at: datetime
    max_views: int
    snapshot_seq: int
    password_protected: bool


class Share(msgspec.Struct):
    id: str
    conversation_id: str
    status: ShareStatus
    snapshot_seq: int
    expires_at: datetime
    max_views: int
    views: int
    remaining_views: int
    last_viewed_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    password_protected: bool


class ShareList(msgspec.Struct):
    items: list[Share]
    next_cursor: str | None


class SharedMessage(msgspec.Struct):
    seq: int
    role: MessageRole
    content: str
    created_at: datetime


class SharedConversation(msgspec.Struct):
    title: str
    technique: str | None
    messages: list[SharedMessage]


class DayViews(msgspec.Struct):
    day: str
    views: int


class ReferrerViews(msgspec.Struct):
    referrer: str | None  # null: no Referer header (direct, or stripped by the browser)
    views: int


class ShareAnalytics(msgspec.Struct):
    views: int
    remaining_views: int
    max_views: int
    unique_visitors: int
    last_viewed_at: datetime | None
    expires_at: datetime
    revoked_at: datetime | None
    by_day: list[DayViews]
    referrers: list[ReferrerViews]
