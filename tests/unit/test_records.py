"""api/records.py: rows become structs by column name."""

from __future__ import annotations

import msgspec
import pytest

from api.records import as_struct


class _Item(msgspec.Struct, omit_defaults=True):
    id: str
    cost: str
    note: str | None | msgspec.UnsetType = msgspec.UNSET


def test_fields_come_from_columns_of_the_same_name_and_extra_columns_are_ignored():
    item = as_struct({"id": "a", "cost": "1.5", "other": 7}, _Item)
    assert item == _Item(id="a", cost="1.5")
    assert msgspec.json.encode(item) == b'{"id":"a","cost":"1.5"}'


def test_given_values_win_over_columns():
    assert as_struct({"id": "a", "cost": 1}, _Item, cost="1", note=None) == _Item(id="a", cost="1", note=None)


def test_a_missing_required_field_is_named():
    with pytest.raises(TypeError, match="cost"):
        as_struct({"id": "a"}, _Item)
