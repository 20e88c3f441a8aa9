"""What the storage can hold, checked by the services so that oversized or non-finite numbers
are field errors for every entry point (web, API, CLI, embedders), never a database error.

Quantities and prices are ``Numeric(18, 6)`` and money ``Numeric(18, 2)``; Python's decimal
context keeps 28 significant digits.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

from cabinet_core.entities import Document
from cabinet_core.errors import N_, FieldError

#: The largest magnitude a quantity or price may have (fits ``Numeric(18, 6)``).
MAX_NUMBER = Decimal(10) ** 12
MAX_DECIMAL_PLACES = 6
#: Σ |quantity × price| of one document stays below this, so sums fit ``Numeric(18, 2)``.
MAX_DOCUMENT_VALUE = Decimal(10) ** 14


def decimal_errors(entity: Any, path: str = "") -> Iterator[FieldError]:
    """Decimals in an entity (or tuple of them) that are not finite, too large or too precise."""
    if isinstance(entity, Decimal):
        if not entity.is_finite():
            yield FieldError(field=path, code="number", message=N_("Enter a number."))
        elif abs(entity) >= MAX_NUMBER:
            yield FieldError(field=path, code="too_large", message=N_("The number is too large."))
        elif int(entity.as_tuple().exponent) < -MAX_DECIMAL_PLACES:
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
