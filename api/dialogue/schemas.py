"""Request and response bodies of the dialogue feature (API.md "Dialogue")."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

Comment = Annotated[str, msgspec.Meta(max_length=2000)]


class ExportFormat(StrEnum):
    markdown = "markdown"
    json = "json"


class MessageVersion(msgspec.Struct):
    version: int
    content: str
    created_at: datetime


class VersionList(msgspec.Struct):
    items: list[MessageVersion]


class QuestionEdit(msgspec.Struct, forbid_unknown_fields=True):
    # Length and blankness are checked by the handler so the answer names `content`.
    content: str


class FeedbackPut(msgspec.Struct, forbid_unknown_fields=True):
    value: Literal[1, -1]
    comment: Comment | None = None


class Feedback(msgspec.Struct):
    seq: int
    version: int
    value: int
    comment: str | None
    updated_at: datetime


class ExportedMessage(msgspec.Struct):
    seq: int
    role: str
    content: str
    created_at: datetime


class ExportedConversation(msgspec.Struct):
    id: str
    title: str
    technique: str | None
    model: str | None
    created_at: datetime
    messages: list[ExportedMessage]
