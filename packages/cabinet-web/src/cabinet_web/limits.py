"""What the storage can hold, checked at the web boundary so that oversized input is a field
message and never a database error (a 500). The decimal rule lives in the core
(:mod:`cabinet_core.limits`, also applied by the services); ids and plain integers are the web's.

Ids are 32-bit integer columns on PostgreSQL; quantities and prices are ``Numeric(18, 6)``
and money ``Numeric(18, 2)``, and Python's decimal context keeps 28 significant digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from cabinet_core.limits import MAX_DECIMAL_PLACES, MAX_DOCUMENT_VALUE, MAX_NUMBER, decimal_errors

MAX_ID = 2**31 - 1
MAX_INT = 2**31 - 1


def whole_number(raw: str) -> int:
    """``raw`` as an int; ``10.0`` is one too (JSON Schema counts it as an integer, and the
    OpenAPI document is JSON Schema). Anything else raises ValueError."""
    try:
        return int(raw)
    except ValueError:
        if not re.fullmatch(r"-?\d+\.0+", raw.strip()):
            raise
        return int(raw.strip().split(".", 1)[0])


def parse_id(value: object) -> int:
    """An entity id from a path; anything that cannot be one is simply not found."""
    try:
        number = int(str(value))
    except ValueError:
        raise NotFound() from None
    if not 0 < number <= MAX_ID:
        raise NotFound()
    return number


def parse_client_id(raw: str, *, own: int | None) -> int:
    """The client a staff member acts for, typed as ``raw``; a client's user (``own``) always
    acts for its own client. Anything that cannot be a client id is a field error."""
    if own is not None:
        return own
    try:
        client_id = int(raw)
        if not 0 < client_id <= MAX_ID:
            raise ValueError(raw)
    except ValueError:
        raise ValidationError.single("client_id", "choice", N_("Choose a client.")) from None
    return client_id


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


__all__ = [
    "MAX_DECIMAL_PLACES",
    "MAX_DOCUMENT_VALUE",
    "MAX_ID",
    "MAX_INT",
    "MAX_NUMBER",
    "decimal_errors",
    "int_errors",
    "parse_client_id",
    "parse_id",
    "whole_number",
]
