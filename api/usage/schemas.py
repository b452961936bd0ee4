"""Response schemas of the usage feature. Money is a decimal string, never a float."""

from __future__ import annotations

from datetime import date

import msgspec


class UsageDay(msgspec.Struct, omit_defaults=True):
    day: date
    questions: int
    prompt_tokens: int
    completion_tokens: int
    cost: str
    # Present only with ?group_by=technique / ?group_by=model (null: no technique / model).
    technique_id: str | None | msgspec.UnsetType = msgspec.UNSET
    model: str | None | msgspec.UnsetType = msgspec.UNSET


class UsageToday(msgspec.Struct):
    day: date
    questions: int
    prompt_tokens: int
    completion_tokens: int
    tokens: int
    cost: str


class UsageSeries(msgspec.Struct):
    items: list[UsageDay]
    today: UsageToday


class MonthlyReportItem(msgspec.Struct):
    user_id: str
    questions: int
    prompt_tokens: int
    completion_tokens: int
    cost: str


class MonthlyReport(msgspec.Struct):
    month: str
    items: list[MonthlyReportItem]
    next_cursor: str | None
