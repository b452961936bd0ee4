"""The closed sets of values the API answers with, as Literal types: the OpenAPI document
turns each into an enum, so generated clients get one type per set instead of a string.

Each mirrors a CHECK constraint (db/sql/schema) or a value set written by our SQL
functions; a new value is added here and there together.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["user", "moderator", "admin"]
UserStatus = Literal["active", "suspended", "deleted"]
SubscriptionStatus = Literal["active", "past_due", "canceled"]
# Written by mukti_complete_request (limits) and mukti_fail_attempt (failures).
NotificationKind = Literal["daily_limit_reached", "hourly_limit_reached", "request_failed"]
MessageRole = Literal["user", "assistant", "system"]
RequestStatus = Literal["pending", "processing", "completed", "failed", "cancelled"]
ModerationStatus = Literal["pending", "approved", "rejected"]
ResourceKind = Literal["article", "book", "video", "course", "paper", "podcast", "tool", "other"]
ShareStatus = Literal["active", "expired", "revoked", "exhausted"]
BillingOutcome = Literal["applied", "ignored", "duplicate"]
