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
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
import sqlalchemy as sa

from cabinet_core.entities import (
    Client,
    Counterparty,
    Document,
    DocumentLine,
    NewsItem,
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
    errors: list[FieldError] = []
    _walk_decimals(entity, path, errors)
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
            errors.append(
                FieldError(
                    field="lines",
                    code="too_large",
                    message=N_("The document's amounts are too large."),
                )
            )
    return iter(errors)


#: Values that hold no Decimal and no nested entity: skipped without a call (every save walks
#: every field of the document, its parties and lines; bench/core.py).
_PLAIN = frozenset({str, int, bool, type(None), date, datetime})


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The fields of an attrs class, or ``None`` for any other class (worked out once)."""
    return tuple(field.name for field in attrs.fields(cls)) if attrs.has(cls) else None


def _walk_decimals(value: Any, path: str, errors: list[FieldError]) -> None:
    kind: type = type(value)
    if kind in _PLAIN:
        return
    if isinstance(value, Decimal):
        error = _decimal_error(value, path)
        if error is not None:
            errors.append(error)
        return
    if kind is tuple or kind is list:
        for index, item in enumerate(value):
            if type(item) not in _PLAIN:
                _walk_decimals(item, f"{path}.{index}" if path else str(index), errors)
        return
    names = _field_names(kind)
    if names is None:
        return
    for name in names:
        item = getattr(value, name)
        if type(item) not in _PLAIN:
            _walk_decimals(item, f"{path}.{name}" if path else name, errors)


def _decimal_error(value: Decimal, path: str) -> FieldError | None:
    if not value.is_finite():
        return FieldError(field=path, code="number", message=N_("Enter a number."))
    if abs(value) >= MAX_NUMBER:
        return FieldError(field=path, code="too_large", message=N_("The number is too large."))
    if int(value.as_tuple().exponent) < -MAX_DECIMAL_PLACES:
        return FieldError(
            field=path,
            code="precision",
            message=N_("Use at most %(places)s decimal places."),
            params={"places": MAX_DECIMAL_PLACES},
        )
    return None


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
    NewsItem: schema.news,
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


def text_limits(cls: type) -> Mapping[str, int]:
    """The longest text each field of ``cls`` may hold (fields without a bound are absent):
    what :func:`text_errors` enforces, for descriptions such as the API's OpenAPI document."""
    return {name: limit for name, limit in _text_plan(cls) if limit is not None}


def text_errors(entity: Any, path: str = "") -> Iterator[FieldError]:
    """Texts in an entity (nested parties and lines too) longer than their column allows."""
    errors: list[FieldError] = []
    _walk_texts(entity, path, errors)
    return iter(errors)


def _walk_texts(entity: Any, path: str, errors: list[FieldError]) -> None:
    kind: type = type(entity)
    if kind is tuple or kind is list:
        for index, value in enumerate(entity):
            _walk_texts(value, f"{path}.{index}" if path else str(index), errors)
        return
    if _field_names(kind) is None:
        return
    for name, limit in _text_plan(kind):
        value = getattr(entity, name)
        value_kind: type = type(value)
        if value_kind is str:
            if limit is not None and len(value) > limit:
                errors.append(
                    FieldError(
                        field=f"{path}.{name}" if path else name,
                        code="too_long",
                        message=N_("This is too long (at most %(limit)s characters)."),
                        params={"limit": limit},
                    )
                )
        elif value_kind in _PLAIN:
            continue
        elif value_kind is tuple or _field_names(value_kind) is not None:
            _walk_texts(value, f"{path}.{name}" if path else name, errors)


#: A JSON Schema ``pattern`` for a text that is not blank: one character that neither
#: ``str.strip`` (Python's whitespace, with the separators U+001C-U+001F and U+0085) nor a
#: JavaScript ``\s`` counts as space. What :func:`blank_errors` and ``required_text`` refuse.
#: Anchored and linear (spaces, then the first other character, then anything), so it means the
#: same to a validator that matches the whole string as to one that searches.
NON_BLANK_PATTERN = r"^[\s\x1c-\x1f\x85]*[^\s\x1c-\x1f\x85][\s\S]*$"

#: The text fields of each entity that must be filled in (not blank), checked by the services
#: with :func:`blank_errors` and declared by the API's OpenAPI document with
#: :data:`NON_BLANK_PATTERN`: one declaration for both.
_NON_BLANK: Mapping[type, tuple[str, ...]] = {
    Client: ("name",),
    Counterparty: ("name",),
    Product: ("name", "unit"),
}


def non_blank_fields(cls: type) -> tuple[str, ...]:
    """The text fields of ``cls`` that must not be blank (see :func:`blank_errors`)."""
    return _NON_BLANK.get(cls, ())


def blank_errors(entity: Any) -> list[FieldError]:
    """A ``required`` error for each of the entity's :func:`non_blank_fields` left blank."""
    return [
        FieldError(field=name, code="required", message=N_("This field is required."))
        for name in non_blank_fields(type(entity))
        if not getattr(entity, name).strip()
    ]


def storage_errors(entity: Any) -> Iterator[FieldError]:
    """Everything about ``entity`` the database could not hold: numbers and texts."""
    yield from decimal_errors(entity)
    yield from text_errors(entity)
