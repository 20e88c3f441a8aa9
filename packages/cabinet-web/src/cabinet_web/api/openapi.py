"""The OpenAPI 3.1 document, generated from the declared endpoints and the attrs entities.

Schemas follow the converter's wire shapes (:mod:`cabinet_core.converter`): a ``Decimal`` is a
string of digits, dates are ISO 8601 strings, enums are their values, tuples are arrays.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
from cabinet_core.doctypes.common import DATE_FIELDS, EARLIEST_DATE, LATEST_DATE
from cabinet_core.entities import BankAccount, Client, Document, DocumentLine, Product, User
from cabinet_core.limits import NON_BLANK_PATTERN, non_blank_fields, text_limits
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.vat_statement.markers import GTU_CODES, SALES_PROCEDURES

from cabinet_web.api._endpoint import (
    DOCUMENT_READ_ONLY,
    DOCUMENT_TYPES_MARKER,
    LANGUAGE_MARKER,
    SERVER_FIELDS,
    ApiEndpoint,
    Param,
)
from cabinet_web.limits import MAX_INT
from cabinet_web.problems import PROBLEM_MEDIA_TYPE

#: The JPK_V7M(3) markers a product and a document line carry, as the core checks them.
MARKER_SCHEMAS: dict[str, dict[str, Any]] = {
    "gtu": {"anyOf": [{"type": "string", "enum": list(GTU_CODES)}, {"type": "null"}]},
    "procedures": {
        "type": "array",
        "items": {"type": "string", "enum": list(SALES_PROCEDURES)},
    },
}
DECIMAL_SCHEMA = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["1234.56"]}
HIDDEN_FIELDS = {User: {"password_hash"}}
#: Entities whose ``language`` the services hold to ``Settings.languages``.
SPEAKING = (Client, User)
#: Entities whose ``currency`` the services hold to :data:`SUPPORTED_CURRENCIES`.
PRICED = (Document, Product, BankAccount)
MARKED = (Product, DocumentLine)


class SchemaBuilder:
    """Collects component schemas for attrs classes as they are referenced."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, cls: type[Any]) -> dict[str, Any]:
        """A ``$ref`` to ``cls``'s component schema (built on first use)."""
        name = cls.__name__
        if name not in self.components:
            self.components[name] = {}  # placeholder: entities may refer to each other
            self.components[name] = self._object(cls)
        return {"$ref": f"#/components/schemas/{name}"}

    def partial(
        self, cls: type[Any], *, keep_required: bool = False, optional: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """``cls``'s schema with nothing required (a PATCH body changes what it names), or with
        ``keep_required`` all it requires but ``optional``."""
        self.ref(cls)
        schema = dict(self.components[cls.__name__])
        required = schema.pop("required", [])
        if keep_required:
            schema["required"] = [name for name in required if name not in optional]
            # Left out or sent as null alike (the server then takes the implied value).
            properties = dict(schema["properties"])
            for name in optional:
                properties[name] = {"anyOf": [properties[name], {"type": "null"}]}
            schema["properties"] = properties
        return schema

    def _object(self, cls: type[Any]) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        hidden = HIDDEN_FIELDS.get(cls, set())
        properties: dict[str, Any] = {}
        required: list[str] = []
        lengths = text_limits(cls)
        filled = non_blank_fields(cls)
        dated = DATE_FIELDS if cls is Document else ()
        for field in attrs.fields(cls):
            if field.name in hidden:
                continue
            properties[field.name] = self.schema(hints[field.name])
            if field.name in lengths:
                _bound_text(properties[field.name], lengths[field.name])
            if field.name in filled:
                _non_blank(properties[field.name])
            if field.name in dated:
                _bound_date(properties[field.name])
            if field.name in (DOCUMENT_READ_ONLY if cls is Document else SERVER_FIELDS):
                properties[field.name]["readOnly"] = True
            if field.name == "language" and cls in SPEAKING:
                properties[field.name] = {"type": "string", LANGUAGE_MARKER: True}
            if field.name == "currency" and cls in PRICED:
                properties[field.name] = {"type": "string", "enum": list(SUPPORTED_CURRENCIES)}
            if cls in MARKED and field.name in MARKER_SCHEMAS:
                properties[field.name] = MARKER_SCHEMAS[field.name]
            if field.default is attrs.NOTHING:
                required.append(field.name)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if cls.__doc__:
            schema["description"] = cls.__doc__.strip().splitlines()[0]
        if required:
            schema["required"] = required
        return schema

    def schema(self, hint: Any) -> dict[str, Any]:
        """The JSON Schema of one type annotation."""
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            options = [self.schema(arg) for arg in args if arg is not type(None)]
            if type(None) in args:
                options.append({"type": "null"})
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin in (tuple, list, set, frozenset, Iterable):
            item = args[0] if args else Any
            return {"type": "array", "items": self.schema(item)}
        if origin in (dict, Mapping) or hint in (dict, Mapping):
            return {"type": "object"}
        if hint is Any:
            return {}
        if isinstance(hint, type):
            if issubclass(hint, enum.Enum):
                return {"type": "string", "enum": [member.value for member in hint]}
            if issubclass(hint, bool):
                return {"type": "boolean"}
            if issubclass(hint, int):
                # What int_errors lets through (32-bit columns).
                return {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT}
            if issubclass(hint, str):
                return {"type": "string"}
            if issubclass(hint, Decimal):
                return dict(DECIMAL_SCHEMA)
            if issubclass(hint, datetime):
                return {"type": "string", "format": "date-time"}
            if issubclass(hint, date):
                return {"type": "string", "format": "date"}
            if attrs.has(hint):
                return self.ref(hint)
        return {}

    def response_schema(self, response: Any) -> dict[str, Any]:
        """The schema of an endpoint's ``response`` declaration."""
        if response is None:
            return {}
        if isinstance(response, dict):
            return response
        if isinstance(response, tuple):
            kind, cls = response
            items = {"type": "array", "items": self.ref(cls)}
            if kind == "list":
                return items
            return {
                "type": "object",
                "properties": {
                    "items": items,
                    "total": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "offset": {"type": "integer"},
                },
                "required": ["items", "total", "limit", "offset"],
            }
        return self.ref(response)


def _query_schema(param: Param) -> dict[str, Any]:
    """An optional query parameter may be sent empty (``?date_to=``, as an HTML form sends an
    unfilled field): the server reads that as absent, and the document says so."""
    schema = dict(param.schema)
    if param.where != "query" or param.required:
        return schema
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _bound_text(schema: dict[str, Any], limit: int) -> None:
    """Give the plain string (or the string option of a nullable one) of ``schema`` the length
    the core enforces; an enum is bounded by its values already."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string" and "enum" not in option and "format" not in option:
            option["maxLength"] = limit


def _non_blank(schema: dict[str, Any]) -> None:
    """Refuse a blank string in ``schema`` (or its string option), as the services do."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string":
            option["pattern"] = NON_BLANK_PATTERN


def _installed(value: Any, languages: tuple[str, ...], document_types: tuple[str, ...]) -> Any:
    """``value`` (a part of the document) with each marker of what the installation has
    resolved: a language marker an ``enum`` of ``languages``, a document types marker a
    ``pattern`` of comma-separated ``document_types``."""
    if isinstance(value, dict):
        out = {key: _installed(item, languages, document_types) for key, item in value.items()}
        marker = out.pop(LANGUAGE_MARKER, False)
        if marker:
            out["enum"] = [*languages, *(marker if isinstance(marker, list) else ())]
        if out.pop(DOCUMENT_TYPES_MARKER, False):
            out["pattern"] = comma_list_pattern(document_types)
        return out
    if isinstance(value, list):
        return [_installed(item, languages, document_types) for item in value]
    return value


def comma_list_pattern(values: Iterable[str]) -> str:
    """A ``pattern`` for a comma-separated list of ``values`` (spaces and empty items allowed),
    as the server's ``_several`` reads a query parameter."""
    one = "(" + "|".join(re.escape(value) for value in values) + ")"
    return rf"^[\s,]*({one}(\s*,[\s,]*{one})*)?[\s,]*$"


def _bound_date(schema: dict[str, Any]) -> None:
    """Hold the date (or the date option of a nullable one) of ``schema`` to the range a
    document's dates must keep (JSON Schema has no minimum for a date: a pattern says it)."""
    for option in schema.get("anyOf", [schema]):
        if option.get("format") == "date":
            option["pattern"] = date_pattern(EARLIEST_DATE, LATEST_DATE)


def date_pattern(earliest: date, latest: date) -> str:
    """A regular expression for the ISO dates from ``earliest`` to ``latest``; the range must be
    whole years (the check of the day itself is left to ``format: date``)."""
    if (earliest.month, earliest.day, latest.month, latest.day) != (1, 1, 12, 31):
        raise ValueError("date_pattern needs a range of whole years")
    years = []
    year = earliest.year
    while year <= latest.year:
        if year % 10 == 0 and year + 9 <= latest.year:
            years.append(f"{year // 10}\\d")
            year += 10
        else:
            years.append(str(year))
            year += 1
    return f"^({'|'.join(years)})-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$"


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` lists field problems of a 422.",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["field", "code", "message"],
            },
        },
    },
    "required": ["type", "title", "status"],
}


def openapi_path(path: str) -> str:
    """Starlette's ``{id:int}`` as OpenAPI's ``{id}``."""
    parts = []
    for segment in path.split("/"):
        if segment.startswith("{") and ":" in segment:
            segment = segment.split(":")[0] + "}"
        parts.append(segment)
    return "/".join(parts)


def _is_content_map(value: Any) -> bool:
    """A body or response given per media type (``{"application/pdf": schema}``): files."""
    return isinstance(value, dict) and bool(value) and all("/" in key for key in value)


_NULL = {"type": "null"}


def _extra_field_schema(spec: Any) -> dict[str, Any]:
    """The JSON form one declared field of a document type takes in ``extra`` (what
    ``normalise_extra`` reads and stores); empty is ``null``."""
    kind = spec.kind
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "date":
        option: dict[str, Any] = {"type": "string", "format": "date"}
    elif kind in ("decimal", "money"):
        option = dict(DECIMAL_SCHEMA)
        if kind == "money":
            option["pattern"] = r"^\d+(\.\d{1,2})?$"
    elif kind == "int":
        option = {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT}
    elif kind == "choice":
        option = {"type": "string", "enum": list(spec.choices)}
    else:
        option = {"type": "string"}
    return {"anyOf": [option, _NULL]}


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def _document_type_schemas(builder: SchemaBuilder, document_types: Mapping[str, Any]) -> None:
    """``doc_type`` held to the registered types, and each type's ``extra`` described by its
    declared fields (a ``<Type>Extra`` component chosen by ``doc_type``)."""
    document = builder.components.get("Document")
    if not document:
        return
    properties = document["properties"]
    properties["doc_type"] = {"type": "string", "enum": list(document_types)}
    chosen: list[dict[str, Any]] = []
    for key, document_type in document_types.items():
        fields = tuple(getattr(document_type, "fields", ()))
        structured = tuple(getattr(document_type, "structured_extra", ()))
        if not fields and not structured:
            continue
        extra_properties: dict[str, Any] = {}
        for spec in fields:
            schema = _extra_field_schema(spec)
            label = spec.label.get("en") or spec.name
            schema["description"] = f"{label}{' (required)' if spec.required else ''}"
            extra_properties[spec.name] = schema
        for name in structured:
            extra_properties.setdefault(
                name, {"description": "Structured data the type keeps (see docs/api.md)."}
            )
        name = f"{_camel(key)}Extra"
        builder.components[name] = {
            "type": "object",
            "description": f"The extra fields of a {key} document.",
            "properties": extra_properties,
        }
        chosen.append(
            {
                "if": {"properties": {"doc_type": {"const": key}}, "required": ["doc_type"]},
                "then": {"properties": {"extra": {"$ref": f"#/components/schemas/{name}"}}},
            }
        )
    if chosen:
        document["allOf"] = chosen


def build_openapi(
    endpoints: Iterable[ApiEndpoint],
    *,
    server_url: str = "",
    languages: tuple[str, ...] = ("pl", "en"),
    document_types: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``endpoints``; a language is one of ``languages`` (the
    installation's ``Settings.languages``); ``document_types`` (the installation's) declare
    what ``doc_type`` may be and each type's ``extra`` fields."""
    builder = SchemaBuilder()
    paths: dict[str, dict[str, Any]] = {}
    problem_response = {
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    }
    for item in endpoints:
        success: dict[str, Any] = {"description": "OK"}
        if item.status == 204 or (isinstance(item.response, dict) and not item.response):
            pass  # no content: ``response={}`` declares an empty body
        elif _is_content_map(item.response):
            success["content"] = {
                media: {"schema": schema} for media, schema in item.response.items()
            }
        else:
            success["content"] = {
                "application/json": {"schema": builder.response_schema(item.response)}
            }
        operation: dict[str, Any] = {
            "operationId": item.operation_id,
            "summary": item.summary,
            "responses": {
                str(item.status): success,
                "default": {"description": "A problem document", **problem_response},
            },
        }
        if (item.handler.__doc__ or "").strip():
            operation["description"] = (item.handler.__doc__ or "").strip()
        if item.params:
            operation["parameters"] = [
                {
                    "name": param.name,
                    "in": param.where,
                    "required": param.required or param.where == "path",
                    "schema": _query_schema(param),
                    **({"description": param.description} if param.description else {}),
                }
                for param in item.params
            ]
        if _is_content_map(item.body):
            operation["requestBody"] = {
                "required": item.body_required,
                "content": {media: {"schema": schema} for media, schema in item.body.items()},
            }
        elif item.body is not None:
            schema = item.body if isinstance(item.body, dict) else builder.ref(item.body)
            if item.method == "PATCH" and not isinstance(item.body, dict):
                schema = builder.partial(item.body)
            elif item.optional and not isinstance(item.body, dict):
                schema = builder.partial(item.body, keep_required=True, optional=item.optional)
            operation["requestBody"] = {
                "required": item.body_required,
                "content": {"application/json": {"schema": schema}},
            }
        if item.public:
            operation["security"] = []
        paths.setdefault(openapi_path(item.path), {})[item.method.lower()] = operation
    if document_types:
        _document_type_schemas(builder, document_types)
    components = dict(sorted(builder.components.items()))
    components["Problem"] = PROBLEM_SCHEMA
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "cabinet API",
            "version": "1",
            "description": (
                "The client cabinet's JSON API. Amounts are decimal strings. A whole number "
                f"beyond ±{MAX_INT} is refused anywhere in a JSON body (422, code `range`), "
                "also in a property the operation does not use."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal cab_… token from /tokens. Its scopes: read "
                    "(GET, HEAD), write (every other method), admin (API tokens, users, "
                    "passwords, two-factor sign-in); a call outside them is a 403 problem.",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "cabinet_session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    resolved: dict[str, Any] = _installed(document, languages, tuple(document_types or ()))
    return resolved
