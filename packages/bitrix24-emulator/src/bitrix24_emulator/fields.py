"""CRM field rules shared by the methods: naming (camelCase, user fields, legacy UPPER_CASE),
filters with operator prefixes, ordering and paging (bitrix24.md §2.5, §3.2)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from bitrix24_emulator.errors import ApiError

#: Bitrix24 pages lists by 50, whatever the client asks for.
PAGE_SIZE = 50

_UF_DIGITS_OR_LETTERS = re.compile(r"^UF_CRM_(\d+)_([A-Z]+(?:_[A-Z]+)*|\d+)$")


def is_user_field(name: str) -> bool:
    """Whether ``name`` is a user field in either spelling (``UF_CRM_…`` or ``ufCrm…``)."""
    return name.startswith(("UF_CRM_", "ufCrm"))


def uf_camel(original: str) -> str:
    """``UF_CRM_3_DIGIT`` → ``ufCrm3Digit``, ``UF_CRM_3_1747`` → ``ufCrm3_1747``, mixed or
    type-less names → ``ufCrm_…`` (the "simplified" form)."""
    match = _UF_DIGITS_OR_LETTERS.match(original)
    if match:
        number, tail = match.groups()
        if tail.isdigit():
            return f"ufCrm{number}_{tail}"
        return f"ufCrm{number}" + "".join(part.capitalize() for part in tail.split("_"))
    return "ufCrm_" + original.removeprefix("UF_CRM_")


def uf_original(name: str) -> str:
    """The ``UF_CRM_…`` name of a user field given in either spelling."""
    if name.startswith("UF_CRM_"):
        return name
    if name.startswith("ufCrm_"):
        return "UF_CRM_" + name.removeprefix("ufCrm_")
    match = re.match(r"^ufCrm(\d+)_(\d+)$", name)
    if match:
        return f"UF_CRM_{match.group(1)}_{match.group(2)}"
    match = re.match(r"^ufCrm(\d*)([A-Z][A-Za-z]*)$", name)
    if match:
        number, tail = match.groups()
        words = re.findall(r"[A-Z][a-z]*", tail)
        return "_".join(["UF_CRM", *([number] if number else []), *(w.upper() for w in words)])
    return "UF_CRM_" + name.removeprefix("ufCrm").upper()


def camel_to_upper(name: str) -> str:
    """``assignedById`` → ``ASSIGNED_BY_ID`` (legacy method field names)."""
    if is_user_field(name):
        return uf_original(name)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def upper_to_camel(name: str) -> str:
    """``ASSIGNED_BY_ID`` → ``assignedById``; user fields keep their original names."""
    if name.startswith("UF_"):
        return name
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


_OPERATORS = ("!=%", "!%=", "=%", "%=", ">=", "<=", "!@", "!=", "!%", "@", ">", "<", "=", "%", "!")


def split_operator(key: str) -> tuple[str, str]:
    """``">=id"`` → ``(">=", "id")``; no prefix means ``=``."""
    for operator in _OPERATORS:
        if key.startswith(operator):
            return operator, key[len(operator) :]
    return "=", key


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def _moment(value: Any) -> datetime | None:
    # Dates with an offset ("2026-11-27T12:00:00+01:00") are compared as moments, as the
    # portal does: a filter given in UTC must match items stamped in the portal's own zone.
    if not isinstance(value, str) or len(value) < 19 or value[10:11] != "T":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    moments = _moment(left), _moment(right)
    if moments[0] is not None and moments[1] is not None:
        return moments
    left, right = _number(left), _number(right)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left, right
    return ("" if left is None else str(left)), ("" if right is None else str(right))


def _like(value: Any, pattern: Any, explicit: bool) -> bool:
    text, wanted = str(value or "").lower(), str(pattern).lower()
    if not explicit:
        return wanted in text
    regex = "^" + ".*".join(re.escape(part) for part in wanted.split("%")) + "$"
    return re.match(regex, text, re.DOTALL) is not None


def _equal(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return any(_equal(value, one) for one in wanted)
    if isinstance(value, list):
        return any(_equal(one, wanted) for one in value)
    if value is None or wanted is None:
        return value in (None, "") and wanted in (None, "")
    left, right = _comparable(value, wanted)
    return bool(left == right)


def _key(value: Any) -> tuple[str, Any]:
    """What :func:`_equal` compares a non-null scalar as: a moment, a number or a string
    (two values are equal exactly when their keys are)."""
    moment = _moment(value)
    if moment is not None:
        return ("moment", moment)
    number = _number(value)
    if isinstance(number, int | float):
        return ("number", number)
    return ("text", str(number))


def _member_test(wanted: list[Any]) -> Callable[[Any], bool]:
    """``value`` equal to any of ``wanted`` (``@`` and ``=`` with a list), with the list's
    keys computed once: an IN filter of 50 origins over thousands of items is a set lookup
    per item, as the portal's indexed query is, not 50 comparisons."""
    empty = any(one in (None, "") for one in wanted)
    keys = {_key(one) for one in wanted if one is not None and not isinstance(one, list)}
    nested = [one for one in wanted if isinstance(one, list)]

    def test(value: Any) -> bool:
        if isinstance(value, list):
            return any(test(one) for one in value)
        if value is None:
            return empty
        if nested and any(_equal(value, one) for one in nested):
            return True
        if value == "" and empty:
            return True
        return _key(value) in keys

    return test


def _test(operator: str, value: Any, wanted: Any) -> bool:
    if operator == "=":
        return _equal(value, wanted)
    if operator in ("!=", "!"):
        return not _equal(value, wanted)
    if operator == "@":
        return _equal(value, wanted if isinstance(wanted, list) else [wanted])
    if operator == "!@":
        return not _equal(value, wanted if isinstance(wanted, list) else [wanted])
    if operator in ("%", "=%", "%="):
        return _like(value, wanted, explicit=operator != "%")
    if operator in ("!%", "!=%", "!%="):
        return not _like(value, wanted, explicit=operator != "!%")
    if value is None:
        return False
    left, right = _comparable(value, wanted)
    if operator == ">":
        return bool(left > right)
    if operator == ">=":
        return bool(left >= right)
    if operator == "<":
        return bool(left < right)
    return bool(left <= right)


Getter = Callable[[Mapping[str, Any], str], Any]


def _get(row: Mapping[str, Any], name: str) -> Any:
    return row.get(name)


def matcher(
    filter_: Any,
    allowed: Callable[[str], bool],
    get: Getter = _get,
) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate for ``filter_`` (prefix operators, nested groups with ``logic: OR``).

    A field ``allowed`` rejects is ``400 INVALID_ARG_VALUE``, as ``crm.item.list`` answers.
    """
    if filter_ in (None, "", []):
        return lambda row: True
    if not isinstance(filter_, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Invalid filter: expected an object")
    logic = str(filter_.get("logic", filter_.get("LOGIC", "AND"))).upper()
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for key, wanted in filter_.items():
        if key in ("logic", "LOGIC"):
            continue
        if isinstance(wanted, Mapping) and (key.isdigit() or not isinstance(key, str)):
            tests.append(matcher(wanted, allowed, get))
            continue
        operator, name = split_operator(str(key))
        if not allowed(name):
            raise ApiError(
                "INVALID_ARG_VALUE", f"Invalid filter: field '{name}' is not allowed in filter"
            )
        if operator in ("=", "@", "!@") and (isinstance(wanted, list) or operator != "="):
            member = _member_test(wanted if isinstance(wanted, list) else [wanted])
            if operator == "!@":
                tests.append(lambda row, n=name, m=member: not m(get(row, n)))  # type: ignore[misc]
            else:
                tests.append(lambda row, n=name, m=member: m(get(row, n)))  # type: ignore[misc]
            continue
        tests.append(
            lambda row, o=operator, n=name, w=wanted: _test(o, get(row, n), w)  # type: ignore[misc]
        )
    if logic == "OR":
        return lambda row: any(test(row) for test in tests)
    return lambda row: all(test(row) for test in tests)


def _sort_key(value: Any) -> tuple[int, Any]:
    value = _number(value)
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


def ordered(
    rows: Iterable[Mapping[str, Any]], order: Any, default: str = "id", get: Getter = _get
) -> list[Mapping[str, Any]]:
    """``rows`` sorted by ``order`` (``{field: "ASC"|"DESC"}``, first key most significant)."""
    result = list(rows)
    keys = list(order.items()) if isinstance(order, Mapping) and order else [(default, "ASC")]
    for name, direction in reversed(keys):
        result.sort(
            key=lambda row, n=name: _sort_key(get(row, n)),  # type: ignore[misc]
            reverse=str(direction).upper() == "DESC",
        )
    return result


def start_of(params: Mapping[str, Any]) -> int:
    """The ``start`` parameter (``-1`` is the fast mode without a count)."""
    try:
        return int(params.get("start", 0) or 0)
    except (TypeError, ValueError):
        return 0


def page(rows: list[Any], start: int) -> tuple[list[Any], int, int | None]:
    """One 50-row page: ``(rows, total, next)``; ``start=-1`` gives the first 50, total 0."""
    if start < 0:
        return rows[:PAGE_SIZE], 0, None
    chunk = rows[start : start + PAGE_SIZE]
    following = start + PAGE_SIZE if start + PAGE_SIZE < len(rows) else None
    return chunk, len(rows), following
