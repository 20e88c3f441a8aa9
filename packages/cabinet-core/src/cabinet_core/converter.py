"""The one cattrs converter: entities to JSON-safe dicts and back.

Storage uses it for JSON columns (parties, addresses, totals rows, ``extra``, outbox payloads) and
the web API for its bodies, so an entity has exactly one wire shape everywhere:

* ``Decimal`` is a string (``"123.45"``): JSON numbers are binary floats in most readers, and a
  float must never touch money;
* ``date`` and ``datetime`` are ISO 8601 strings;
* enums are their values; tuples become lists and come back as tuples, frozensets sorted
  lists that come back as frozensets;
* ``Mapping[str, Any]`` fields (``extra``, ``detail``, ``payload``) hold JSON values and are kept
  as they are, except that Decimals, dates and enums inside them are turned into strings too.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import cattrs

__all__ = ["converter", "from_json_dict", "json_value", "to_json_dict"]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=False)


_PLAIN = frozenset({str, int, bool, float, type(None)})


def json_value(value: Any) -> Any:
    """Turn a free-form value (``extra``, payloads) into plain JSON types, recursively.

    Used where the static type is ``Any``: cattrs would otherwise pass a ``Decimal`` through and
    the JSON encoder would fail (or, worse, a caller would convert it to a float).
    """
    # Exact types first: an outbox payload is a whole document already made of these, and the
    # isinstance chain below cost more than the rest of writing it (bench/core.py).
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(key): json_value(item) for key, item in value.items()}
    if kind is list:
        return [json_value(item) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(item) for item in value]
    if hasattr(type(value), "__attrs_attrs__"):
        return json_value(converter.unstructure(value))
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, float):
        # A float here means some JSON reader lost precision already; refuse it.
        raise TypeError("a Decimal must arrive as a string or an integer, not a float")
    return Decimal(str(value)) if isinstance(value, int) else Decimal(value)


def _structure_datetime(value: Any, _: type) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _structure_date(value: Any, _: type) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


def _structure_json_mapping(value: Any, _: type) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("expected a JSON object")
    return {str(key): item for key, item in value.items()}


converter.register_unstructure_hook(Decimal, str)
converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_unstructure_hook(datetime, datetime.isoformat)
converter.register_structure_hook(datetime, _structure_datetime)
converter.register_unstructure_hook(date, date.isoformat)
converter.register_structure_hook(date, _structure_date)


def _is_json_mapping(type_: Any) -> bool:
    return bool(type_ == Mapping[str, Any])


def _enum_value(member: enum.Enum) -> Any:
    # StrEnum members are str already, but a plain value keeps the JSON exact and the dicts
    # comparable with what a JSON reader returns.
    return member.value


# StrEnum is registered by name: its MRO puts ``str`` before ``Enum``, and cattrs would pass it on.
converter.register_unstructure_hook(enum.StrEnum, _enum_value)
converter.register_unstructure_hook(enum.Enum, _enum_value)


# A set (an API token's scopes) is a sorted JSON list, so the same value always reads the same.
def _is_frozenset(type_: Any) -> bool:
    origin: Any = typing.get_origin(type_)
    return bool(origin is frozenset)


converter.register_unstructure_hook_func(
    _is_frozenset, lambda value: sorted(converter.unstructure(item) for item in value)
)
converter.register_unstructure_hook_func(_is_json_mapping, json_value)
converter.register_structure_hook_func(_is_json_mapping, _structure_json_mapping)


def to_json_dict(entity: Any) -> dict[str, Any]:
    """An attrs entity as a dict of JSON types (see the module docstring for the shapes)."""
    data = converter.unstructure(entity)
    if not isinstance(data, dict):
        raise TypeError(f"{type(entity).__name__} is not an attrs entity")
    return data


def from_json_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build ``cls`` from a dict made by :func:`to_json_dict` (or an API body of that shape)."""
    return converter.structure(data, cls)
