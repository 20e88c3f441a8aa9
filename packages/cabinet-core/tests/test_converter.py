"""The one converter: every entity survives entity -> JSON dict -> JSON text -> entity."""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from cabinet_core import entities
from cabinet_core.converter import converter, from_json_dict, json_value, to_json_dict
from cabinet_core.entities import (
    Document,
    DocumentLine,
    PaymentMethod,
    Role,
    User,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ENTITIES = sorted(
    (
        obj
        for obj in vars(entities).values()
        if isinstance(obj, type) and attrs.has(obj) and obj.__module__ == entities.__name__
    ),
    key=lambda cls: cls.__name__,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
decimals = st.decimals(
    allow_nan=False, allow_infinity=False, places=6, min_value=-(10**12), max_value=10**12
)
datetimes = st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for one resolved field type of an entity."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(arg) for arg in args))
    if tp is type(None):
        return st.none()
    if origin is tuple:
        return st.lists(strategy_for(args[0]), max_size=3).map(tuple)
    if origin is frozenset:  # an API token's scopes
        return st.frozensets(strategy_for(args[0]), max_size=3)
    if origin in (Mapping, dict) and args and args[0] is int:
        # A read model's lookup by id (ChatPage.authors): int keys, typed values.
        return st.dictionaries(st.integers(min_value=1), strategy_for(args[1]), max_size=3)
    if origin in (Mapping, dict):
        return st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(min_value=-(2**31), max_value=2**31)
    if tp is str:
        return st.text(max_size=30)
    if tp is Decimal:
        return decimals
    if tp is datetime:
        return datetimes
    if tp is date:
        return st.dates()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and attrs.has(tp):
        return entity_strategy(tp)
    raise AssertionError(f"no strategy for {tp!r}")


def entity_strategy(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Any instance of an attrs entity, every field drawn from its declared type."""
    hints = typing.get_type_hints(cls)
    fields = {field.name: strategy_for(hints[field.name]) for field in attrs.fields(cls)}
    return st.fixed_dictionaries(fields).map(lambda values: cls(**values))


def test_every_entity_is_covered() -> None:
    names = {cls.__name__ for cls in ENTITIES}
    assert {"Client", "User", "Document", "OutboxMessage", "AuditEntry", "ApiToken"} <= names
    assert len(ENTITIES) >= 20


@pytest.mark.parametrize("cls", ENTITIES, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip(cls: type[Any], data: st.DataObject) -> None:
    entity = data.draw(entity_strategy(cls))
    as_dict = to_json_dict(entity)
    # Through real JSON text, as the web API and the JSON columns do it.
    assert from_json_dict(cls, json.loads(json.dumps(as_dict))) == entity


def test_shapes_are_json_native() -> None:
    doc = Document(
        client_id=1,
        doc_type="vat_invoice",
        issue_date=date(2026, 2, 3),
        payment_method=PaymentMethod.CASH,
        lines=(DocumentLine(name="Usługa", quantity=Decimal("1.5"), unit_price=Decimal("10.10")),),
        created_at=datetime(2026, 2, 3, 10, 30, tzinfo=UTC),
        extra={"period": "2026-01"},
    )
    data = to_json_dict(doc)
    assert data["issue_date"] == "2026-02-03"
    assert data["created_at"] == "2026-02-03T10:30:00+00:00"
    assert data["payment_method"] == "1" and type(data["payment_method"]) is str
    assert data["lines"] == [
        {
            "name": "Usługa",
            "quantity": "1.5",
            "unit": "szt.",
            "unit_price": "10.10",
            "vat_rate": "23",
            "product_id": None,
            "gtu": None,
            "procedures": [],
            "non_deductible": False,
            "before": False,
            "annex15": False,
        }
    ]
    assert data["extra"] == {"period": "2026-01"}


def test_enum_values_come_back_as_enums() -> None:
    user = from_json_dict(User, {"email": "a@example.com", "role": "accountant"})
    assert user.role is Role.ACCOUNTANT
    assert user.id is None and user.active is True


def test_decimal_refuses_floats() -> None:
    with pytest.raises(Exception, match="float"):
        converter.structure(0.1, Decimal)
    assert converter.structure(7, Decimal) == Decimal("7")


def test_json_value_makes_free_form_data_storable() -> None:
    value = {
        "amount": Decimal("12.30"),
        "when": date(2026, 1, 31),
        "role": Role.MANAGER,
        "parts": (1, "a"),
        "line": DocumentLine(name="x", unit_price=Decimal("1")),
    }
    stored = json_value(value)
    assert json.loads(json.dumps(stored)) == stored
    assert stored["amount"] == "12.30" and stored["when"] == "2026-01-31"
    assert stored["role"] == "manager" and stored["parts"] == [1, "a"]
    assert stored["line"]["unit_price"] == "1"
    with pytest.raises(TypeError):
        json_value(object())
