"""Bodies of the /admin/users routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.enums import Role, UserStatus


class AdminUser(msgspec.Struct):
    id: str
    email: str
    display_name: str | None
    role: Role
    status: UserStatus
    plan: str | None
    created_at: datetime
    deleted_at: datetime | None


class AdminUserPage(msgspec.Struct):
    items: list[AdminUser]
    next_cursor: str | None


class UpdateUserRequest(msgspec.Struct, forbid_unknown_fields=True):
    # 'deleted' is not offered: deletion anonymizes and is the account owner's act.
    role: Role | None = None
    status: Literal["active", "suspended"] | None = None


class SetPlanRequest(msgspec.Struct, forbid_unknown_fields=True):
    plan: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
