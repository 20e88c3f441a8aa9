"""What the storage can hold, checked by the services so that oversized or non-finite numbers
and over-long texts are field errors for every entry point (web, API, CLI, embedders), never a
database error.

Quantities and prices are ``Numeric(18, 6)`` and money ``Numeric(18, 2)``; Python's decimal
context keeps 28 significant digits. Text lengths come from the schema's ``String(n)`` columns
(PostgreSQL refuses a longer value, SQLite would silently keep it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import sqlalchemy as sa

from cabinet_core.entities import (
    Client,
    Counterparty,
    Document,
    DocumentLine,
    Party,
    Product,
    User,
)
from cabinet_core.errors import N_, FieldError
from cabinet_core.storage import schema

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
            if value is None or isinstance(value, str | int | date):
                continue  # the common case, without a generator per field (bench/core.py)
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


#: The table whose ``String(n)`` columns bound each entity's text fields. A party snapshot is
#: JSON, but its name and NIP are copied to ``documents.counterparty_*`` for lists.
_TABLES: Mapping[type, sa.Table] = {
    Client: schema.clients,
    User: schema.users,
    Counterparty: schema.counterparties,
    Party: schema.counterparties,
    Product: schema.products,
    Document: schema.documents,
    DocumentLine: schema.document_lines,
}


@functools.cache
def _lengths(table: sa.Table) -> dict[str, int]:
    return {
        column.name: column.type.length
        for column in table.columns
        if isinstance(column.type, sa.String) and column.type.length is not None
    }


@functools.cache
def _text_plan(cls: type) -> tuple[tuple[str, int | None], ...]:
    """The fields of an attrs class in order, each with its column length (None: no text
    column, but it may hold nested entities): worked out once per class, as every save checks
    every text."""
    table = _TABLES.get(cls)
    lengths = _lengths(table) if table is not None else {}
    return tuple((field.name, lengths.get(field.name)) for field in attrs.fields(cls))


def text_errors(entity: Any, path: str = "") -> Iterator[FieldError]:
    """Texts in an entity (nested parties and lines too) longer than their column allows."""
    if isinstance(entity, tuple | list):
        for index, value in enumerate(entity):
            yield from text_errors(value, f"{path}.{index}" if path else str(index))
        return
    kind: type = type(entity)
    if not attrs.has(kind):
        return
    for name, limit in _text_plan(kind):
        value = getattr(entity, name)
        if isinstance(value, str):
            if limit is not None and len(value) > limit:
                yield FieldError(
                    field=f"{path}.{name}" if path else name,
                    code="too_long",
                    message=N_("This is too long (at most %(limit)s characters)."),
                    params={"limit": limit},
                )
        elif isinstance(value, tuple) or attrs.has(type(value)):
            yield from text_errors(value, f"{path}.{name}" if path else name)


def storage_errors(entity: Any) -> Iterator[FieldError]:
    """Everything about ``entity`` the database could not hold: numbers and texts."""
    yield from decimal_errors(entity)
    yield from text_errors(entity)
