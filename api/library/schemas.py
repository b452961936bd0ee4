"""Request and response bodies of the library: techniques, resources, votes, moderation.

Request Structs forbid unknown fields, so a body cannot set status, author, version or
vote counters: those exist only on the response types.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.enums import ModerationStatus, ResourceKind

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]
SystemPrompt = Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]
QuestioningStyle = Annotated[str, msgspec.Meta(max_length=1000)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# The same rule as the resources_url_format check: the database has the last word.
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/$.?#][^\s]*$", max_length=2048)]
Kind = ResourceKind
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class TechniqueCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    system_prompt: SystemPrompt
    description: Description = ""
    questioning_style: QuestioningStyle = ""


class TechniqueUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Absent fields keep the latest version's value; any change makes a new version."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    system_prompt: SystemPrompt | msgspec.UnsetType = msgspec.UNSET
    questioning_style: QuestioningStyle | msgspec.UnsetType = msgspec.UNSET


class TechniqueSummary(msgspec.Struct):
    """A technique in a list: name and description are those of its live version."""

    id: str
    slug: str | None
    name: str
    description: str
    is_builtin: bool
    is_default: bool
    status: ModerationStatus
    author_id: str | None
    latest_version: int
    approved_version: int | None
    rejection_reason: str | None
    upvotes: int
    downvotes: int
    score: float
    my_vote: int | None
    created_at: datetime
    updated_at: datetime


class Technique(TechniqueSummary):
    """One technique at the version the caller sees: the approved one, or for its
    author and moderators the latest."""

    version: int
    version_status: ModerationStatus
    version_rejection_reason: str | None
    system_prompt: str
    questioning_style: str


class TechniquePage(msgspec.Struct):
    items: list[TechniqueSummary]
    next_cursor: str | None


class TechniqueVersion(msgspec.Struct):
    version: int
    name: str
    description: str
    system_prompt: str
    questioning_style: str
    status: ModerationStatus
    rejection_reason: str | None
    created_at: datetime


class TechniqueVersionPage(msgspec.Struct):
    items: list[TechniqueVersion]
    next_cursor: str | None


class ResourceCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    url: Url
    kind: Kind
    description: Description = ""


class ResourceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    url: Url | msgspec.UnsetType = msgspec.UNSET
    kind: Kind | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET


class Resource(msgspec.Struct):
    id: str
    title: str
    url: str
    description: str
    kind: Kind
    status: ModerationStatus
    author_id: str | None
    rejection_reason: str | None
    upvotes: int
    downvotes: int
    score: float
    my_vote: int | None
    created_at: datetime
    updated_at: datetime


class ResourcePage(msgspec.Struct):
    items: list[Resource]
    next_cursor: str | None


class VoteCast(msgspec.Struct, forbid_unknown_fields=True):
    value: Literal[1, -1]


class TechniqueStats(msgspec.Struct):
    """How a technique is used and rated, for people choosing one. Averages are null
    while there is nothing to average (no conversations, no votes)."""

    conversations: int
    median_messages: float | None
    return_rate: float | None
    upvotes: int
    downvotes: int
    helpful_rate: float | None


class VoteTally(msgspec.Struct):
    upvotes: int
    downvotes: int
    score: float


class Approval(msgspec.Struct, forbid_unknown_fields=True):
    # The technique version the moderator reviewed; a newer edit since then is a 409.
    version: int | None = None


class Rejection(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class TechniqueRejection(Rejection, forbid_unknown_fields=True):
    version: int | None = None


class QueueItem(msgspec.Struct):
    type: Literal["technique", "resource"]
    id: str
    version: int | None
    title: str
    description: str
    system_prompt: str | None
    questioning_style: str | None
    url: str | None
    kind: Kind | None
    author_id: str | None
    approved_version: int | None
    submitted_at: datetime


class QueuePage(msgspec.Struct):
    items: list[QueueItem]
    next_cursor: str | None
