"""Request and response bodies of the conversations feature."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.enums import MessageRole, RequestStatus

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


Model = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ConversationCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | None = None
    technique_id: str | None = None
    # One of the models the caller's plan allows; absent = the plan's default.
    model: Model | None = None


class ConversationUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    # null removes the technique; absent keeps it.
    technique_id: str | None | msgspec.UnsetType = msgspec.UNSET
    # null returns to the plan's default model; absent keeps it.
    model: Model | None | msgspec.UnsetType = msgspec.UNSET


class Conversation(msgspec.Struct):
    id: str
    title: str
    technique_id: str | None
    technique_version: int | None
    message_count: int
    last_activity_at: datetime
    created_at: datetime
    # The model chosen for it; null = the plan's default.
    model: str | None


class Message(msgspec.Struct):
    seq: int
    role: MessageRole
    content: str
    created_at: str


class ConversationDetail(Conversation):
    recent_messages: list[Message]


class ConversationPage(msgspec.Struct):
    items: list[Conversation]
    next_cursor: str | None


class HistoryMessage(msgspec.Struct):
    seq: int
    role: MessageRole
    content: str
    created_at: datetime


class HistoryPage(msgspec.Struct):
    items: list[HistoryMessage]
    next_cursor: str | None


class QuestionCreate(msgspec.Struct, forbid_unknown_fields=True):
    # Length and blankness are checked by the handler so the answer names `content`.
    content: str


class QuestionAccepted(msgspec.Struct):
    request_id: str
    status: Literal["pending"]
    position: int | None
    message_seq: int


class Reply(msgspec.Struct):
    seq: int
    content: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    # Cut short by a cancel: the reply as far as it got.
    stopped: bool = False


class QueueStatus(msgspec.Struct, omit_defaults=True):
    request_id: str
    status: RequestStatus
    # 1 = served next; null once the request is no longer pending.
    position: int | None
    attempts: int
    reply: Reply | None = None
    error: str | None = None
    # While processing: the text of the reply so far.
    partial: str | None = None


class PendingCount(msgspec.Struct):
    priority: int
    count: int


class QueueOverview(msgspec.Struct):
    pending_by_priority: list[PendingCount]
    processing: int
    failed_24h: int
    oldest_pending_seconds: float
