"""What the storage can hold, checked at the web boundary so that oversized input is a field
message and never a database error (a 500).

Ids are 32-bit integer columns on PostgreSQL; quantities and prices are ``Numeric(18, 6)``
and money ``Numeric(18, 2)``, and Python's decimal context keeps 28 significant digits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs
from cabinet_core.entities import Document
from cabinet_core.errors import N_, FieldError, NotFound

MAX_ID = 2**31 - 1
MAX_INT = 2**31 - 1
MAX_NUMBER = Decimal(10) ** 12  # fits Numeric(18, 6)
MAX_DECIMAL_PLACES = 6
MAX_DOCUMENT_VALUE = Decimal(10) ** 14  # sums stay within Numeric(18, 2)


def parse_id(value: object) -> int:
    """An entity id from a path; anything that cannot be one is simply not found."""
    try:
        number = int(str(value))
    except ValueError:
        raise NotFound() from None
    if not 0 < number <= MAX_ID:
        raise NotFound()
    return number


def int_errors(data: Any, path: str = "") -> Iterator[FieldError]:
    """Integers in a JSON value that no column (or 28-digit decimal) can hold."""
    if isinstance(data, bool):
        return
    if isinstance(data, int):
        if abs(data) > MAX_INT:
            yield FieldError(
                field=path or "body", code="range", message=N_("The number is out of range.")
            )
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from int_errors(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from int_errors(value, f"{path}.{index}" if path else str(index))


def decimal_errors(entity: Any, path: str = "") -> Iterator[FieldError]:
    """Decimals in an entity that are not finite, too large or too precise to store."""
    if isinstance(entity, Decimal):
        if not entity.is_finite():
            yield FieldError(field=path, code="number", message=N_("Enter a number."))
        elif abs(entity) >= MAX_NUMBER:
            yield FieldError(field=path, code="too_large", message=N_("The number is too large."))
        elif entity.as_tuple().exponent < -MAX_DECIMAL_PLACES:  # type: ignore[operator]
            yield FieldError(
                field=path,
                code="precision",
                message=N_("Use at most %(places)s decimal places."),
                params={"places": MAX_DECIMAL_PLACES},
            )
    elif attrs.has(type(entity)):
        for field in attrs.fields(type(entity)):
            value = getattr(entity, field.name)
            yield from decimal_errors(value, f"{path}.{field.name}" if path else field.name)
    elif isinstance(entity, tuple | list):
        for index, value in enumerate(entity):
            yield from decimal_errors(value, f"{path}.{index}" if path else str(index))
    if isinstance(entity, Document) and not path:
        total = sum(
            (
                abs(line.quantity * line.unit_price)
                for line in entity.lines
                if line.quantity.is_finite() and line.unit_price.is_finite()
            ),
            Decimal(0),
        )
        if total >= MAX_DOCUMENT_VALUE:
            yield FieldError(
                field="lines", code="too_large", message=N_("The document's amounts are too large.")
            )
