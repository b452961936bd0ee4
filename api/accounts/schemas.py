"""Request and response bodies of the accounts routes.

Request structs forbid unknown fields: a body that tries to set `role`, `plan` or any
other field the caller may not set is a 422, not silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from api.enums import BillingOutcome, NotificationKind, Role, SubscriptionStatus, UserStatus

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
# Under 10 characters is refused; the upper bound keeps Argon2 input sane.
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=1024)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
WebhookUrl = Annotated[str, msgspec.Meta(max_length=2048)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    display_name: DisplayName | None = None


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    # No length rules here: a login only ever compares.
    email: Annotated[str, msgspec.Meta(max_length=320)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(max_length=200)]


class UpdateMeRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Absent fields stay as they are; `null` clears display_name or webhook_url."""

    display_name: DisplayName | None | msgspec.UnsetType = msgspec.UNSET
    preferences: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    webhook_url: WebhookUrl | None | msgspec.UnsetType = msgspec.UNSET


class User(msgspec.Struct):
    id: str
    email: str
    display_name: str | None
    role: Role
    status: UserStatus
    preferences: dict[str, Any]
    webhook_url: str | None
    created_at: datetime


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int


class AuthResponse(TokenPair):
    user: User


class Limits(msgspec.Struct):
    per_hour: int
    per_day: int
    # null = unlimited; months are UTC calendar months.
    per_month: int | None
    tokens_per_month: int | None


class Usage(msgspec.Struct):
    this_hour: int
    today: int
    tokens_today: int
    cost_today: str  # decimal string: money is never a float
    this_month: int
    tokens_this_month: int


class Resets(msgspec.Struct):
    hour: datetime
    day: datetime
    month: datetime


class Subscription(msgspec.Struct):
    plan: str
    status: SubscriptionStatus
    limits: Limits
    usage: Usage
    resets: Resets
    blocked_until: datetime | None


class Notification(msgspec.Struct):
    id: str
    kind: NotificationKind
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(msgspec.Struct):
    items: list[Notification]
    next_cursor: str | None


class BillingEvent(msgspec.Struct):
    """A provider-agnostic billing event. The account is named by `user_id` or `email`.

    Types: `subscription.created` / `subscription.updated` (set `plan`, status active),
    `subscription.canceled` (back to the default plan), `payment.failed` (status past_due).
    Other types are recorded and otherwise ignored.
    """

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    user_id: str | None = None
    email: str | None = None
    plan: str | None = None
    provider: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] = "generic"


class BillingResult(msgspec.Struct):
    id: str
    status: BillingOutcome
