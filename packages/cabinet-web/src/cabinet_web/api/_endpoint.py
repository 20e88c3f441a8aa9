"""How an API endpoint is declared: its path, method and the metadata the OpenAPI document uses.

An endpoint is an async function ``(request) -> result``; the wrapper checks authentication,
runs it and turns the result into JSON with the core's one converter. Errors become problem
documents in :mod:`cabinet_web.problems`.
"""

from __future__ import annotations

import functools
import json
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from types import UnionType
from typing import Any, Union

import attrs
import cattrs
from cabinet_core.converter import converter, to_json_dict
from cabinet_core.entities import Actor, User
from cabinet_core.errors import N_, AuthenticationFailed, FieldError, ValidationError
from cabinet_core.limits import NON_BLANK_PATTERN
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from cabinet_web.limits import MAX_INT, decimal_errors, int_errors, whole_number
from cabinet_web.problems import problem
from cabinet_web.query import MAX_LIMIT

Handler = Callable[[Request], Awaitable[Any]]


#: Fields the server sets and ignores in a request body (``readOnly`` in the document).
SERVER_FIELDS = ("id", "created_at", "updated_at", "created_by")
#: And a document's, whose state, number and totals are the server's (``version`` is sent back
#: on a change, to detect a concurrent one).
DOCUMENT_SERVER_FIELDS = (*SERVER_FIELDS, "status", "number", "series", "totals", "version")
DOCUMENT_READ_ONLY = tuple(name for name in DOCUMENT_SERVER_FIELDS if name != "version")


def text(
    *,
    max_length: int | None = None,
    non_blank: bool = False,
    stripped: bool = False,
    description: str = "",
) -> dict[str, Any]:
    """The JSON Schema of a text field as the services check it: at most ``max_length``
    characters; with ``non_blank``, not blank (what ``required_text`` refuses); with
    ``stripped``, the length is that of the text without the spaces around it (a service that
    strips before it measures), which only a pattern can say."""
    schema: dict[str, Any] = {"type": "string"}
    if stripped and max_length is not None:
        schema["pattern"] = stripped_length_pattern(max_length, non_blank=non_blank)
    elif max_length is not None:
        schema["maxLength"] = max_length
    if non_blank and "pattern" not in schema:
        schema["pattern"] = NON_BLANK_PATTERN
    if description:
        schema["description"] = description
    return schema


def stripped_length_pattern(max_length: int, *, non_blank: bool = False) -> str:
    """A ``pattern`` for a text of at most ``max_length`` characters once the spaces around it
    are stripped (at least one with ``non_blank``); spaces as ``NON_BLANK_PATTERN`` counts them."""
    space, other = r"[\s\x1c-\x1f\x85]", r"[^\s\x1c-\x1f\x85]"
    inner = rf"{other}([\s\S]{{0,{max_length - 2}}}{other})?" if max_length > 1 else other
    return rf"^{space}*({inner}){'' if non_blank else '?'}{space}*$"


def choice_pattern(values: Sequence[str]) -> str:
    """A ``pattern`` for one of ``values`` in any case, with spaces around it: what a server
    that reads ``raw.strip().upper()`` (or ``.lower()``) accepts, no more and no less."""
    options = [
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in value)
        for value in values
    ]
    return rf"^\s*({'|'.join(options)})\s*$"


def transition_body(transitions: Iterable[Any]) -> dict[str, Any]:
    """The body of a workflow move: ``transition`` one of the workflow's keys, and a ``comment``
    that must be filled in for each transition that ``needs_comment`` (as the services check),
    declared from the workflow itself."""
    moves = list(transitions)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "transition": {"type": "string", "enum": [move.key for move in moves]},
            "comment": {"type": "string"},
        },
        "required": ["transition"],
        "additionalProperties": False,
    }
    commented = [move.key for move in moves if move.needs_comment]
    if commented:
        schema["if"] = {
            "properties": {"transition": {"enum": commented}},
            "required": ["transition"],
        }
        schema["then"] = {
            "properties": {"comment": text(non_blank=True, description="Why")},
            "required": ["comment"],
        }
    return schema


#: The document types the installation has (its plugins' too): the OpenAPI document turns this
#: marker into a ``pattern`` for a comma-separated list of their keys when it is served.
DOCUMENT_TYPES_MARKER = "x-cabinet-document-types"


#: A language the installation offers (``Settings.languages``): the OpenAPI document turns this
#: marker into an ``enum`` of them when it is served, as the services check it.
LANGUAGE_MARKER = "x-cabinet-languages"


def language(description: str = "", *, blank: bool = False) -> dict[str, Any]:
    """The JSON Schema of a language code the services hold to ``Settings.languages``; with
    ``blank``, an empty string too (read as the default language)."""
    schema: dict[str, Any] = {"type": "string", LANGUAGE_MARKER: [""] if blank else True}
    if description:
        schema["description"] = description
    return schema


@attrs.frozen(kw_only=True)
class Param:
    """A path or query parameter as the OpenAPI document lists it."""

    name: str
    where: str  # "path" or "query"
    schema: Mapping[str, Any] = attrs.field(factory=lambda: {"type": "string"})
    description: str = ""
    required: bool = False


@attrs.frozen(kw_only=True)
class ApiEndpoint:
    """One operation of the API."""

    path: str
    method: str
    handler: Handler
    summary: str
    operation_id: str
    params: tuple[Param, ...] = ()
    body: Any = None  # an attrs class, or a JSON Schema dict
    body_required: bool = True
    #: Fields of an attrs ``body`` that this operation does not require (a client user's own
    #: ``client_id`` is implied).
    optional: tuple[str, ...] = ()
    response: Any = None  # an attrs class, ("list", cls), ("page", cls) or a JSON Schema dict
    status: int = 200
    public: bool = False

    def route(self) -> Route:
        """The Starlette route serving this endpoint."""
        return Route(self.path, _wrap(self), methods=[self.method], name=self.operation_id)


class ApiRoute(Route):
    """Every operation of one API path as one route.

    Starlette answers a wrong method with the ``Allow`` of the first route whose path matches;
    with one route per operation that named only one of the path's methods. One route per path
    names them all. A parameterised path also never takes a request for a literal API path
    (``/reports/{kind}`` is not asked for ``/reports/exports``, whose ``Allow`` is its own).
    """

    def __init__(self, endpoints: Sequence[ApiEndpoint], literal_paths: frozenset[str]) -> None:
        handlers = {item.method: _wrap(item) for item in endpoints}

        async def dispatch(request: Request) -> Response:
            # Starlette adds HEAD wherever GET is allowed; it is served by GET.
            method = "GET" if request.method == "HEAD" else request.method
            return await handlers[method](request)

        if all(getattr(item.handler, "csrf_exempt", False) for item in endpoints):
            dispatch.csrf_exempt = True  # type: ignore[attr-defined]
        path = endpoints[0].path
        super().__init__(
            path,
            dispatch,
            methods=list(handlers),
            name=" ".join(item.operation_id for item in endpoints),
        )
        self.shadowed = literal_paths - {path}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            self.param_convertors
            and scope["type"] == "http"
            and get_route_path(scope) in self.shadowed
        ):
            return Match.NONE, {}
        return super().matches(scope)


def plugin_endpoint(spec: Mapping[str, Any], prefix: str) -> ApiEndpoint:
    """An :class:`ApiEndpoint` from a plugin's ``api_endpoints`` mapping (see the hookspec)."""
    known = {
        "path", "method", "handler", "summary", "operation_id", "params", "body",
        "body_required", "response", "status",
    }  # fmt: skip
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown keys in an API endpoint: {', '.join(sorted(unknown))}")
    path = str(spec["path"])
    if not path.startswith("/"):
        raise ValueError(f"an API endpoint's path starts with '/': {path!r}")
    params = tuple(
        Param(
            name=str(item["name"]),
            where=str(item.get("in", "query")),
            schema=dict(item.get("schema") or {"type": "string"}),
            description=str(item.get("description", "")),
            required=bool(item.get("required", False)),
        )
        for item in spec.get("params", ())
    )
    return ApiEndpoint(
        path=prefix + path,
        method=str(spec["method"]).upper(),
        handler=spec["handler"],
        summary=str(spec["summary"]),
        operation_id=str(spec["operation_id"]),
        params=params,
        body=spec.get("body"),
        body_required=bool(spec.get("body_required", True)),
        response=spec.get("response"),
        status=int(spec.get("status", 200)),
    )


def api_routes(endpoints: Sequence[ApiEndpoint]) -> list[Route]:
    """One :class:`ApiRoute` per path of ``endpoints``, in the order the paths first appear."""
    by_path: dict[str, list[ApiEndpoint]] = {}
    for item in endpoints:
        by_path.setdefault(item.path, []).append(item)
    literal = frozenset(path for path in by_path if "{" not in path)
    return [ApiRoute(group, literal) for group in by_path.values()]


def _wrap(endpoint: ApiEndpoint) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        if not endpoint.public and request.state.user is None:
            error = request.state.auth_error
            detail = error.message if isinstance(error, AuthenticationFailed) else None
            return problem(
                request,
                401,
                detail=detail or N_("Sign in or send a personal API token."),
                headers={"WWW-Authenticate": "Bearer"},
            )
        result = await endpoint.handler(request)
        if isinstance(result, Response):
            return result
        return JSONResponse(to_json(result), status_code=endpoint.status)

    serve.__name__ = endpoint.operation_id
    # A public endpoint that takes no cookie (forgot password) says so on its handler.
    if getattr(endpoint.handler, "csrf_exempt", False):
        serve.csrf_exempt = True  # type: ignore[attr-defined]
    return serve


def to_json(value: Any) -> Any:
    """Entities, pages and lists as JSON types; a user never shows its password hash."""
    if isinstance(value, User):
        data = to_json_dict(value)
        data.pop("password_hash", None)
        return data
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if attrs.has(type(value)) and hasattr(value, "items") and hasattr(value, "total"):
        return {
            "items": [to_json(item) for item in value.items],
            "total": value.total,
            "limit": value.limit,
            "offset": value.offset,
        }
    if attrs.has(type(value)):
        return to_json_dict(value)
    return value


def actor(request: Request) -> Actor:
    """The authenticated user as the services' actor (limited by its API token's scopes)."""
    return Actor.of(request.state.user, scopes=getattr(request.state, "token_scopes", None))


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; anything else is a 400 or 422 problem."""
    content_type = request.headers.get("content-type", "")
    if content_type and "json" not in content_type:
        raise ValidationError.single(
            "body", "media_type", N_("Send the body as JSON (Content-Type: application/json).")
        )
    # At most settings.max_body_bytes: the body-limit middleware cut a longer one off with 413.
    raw = await request.body()
    try:
        data = json.loads(raw, parse_float=_reject_float_marker, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise MalformedJson() from None
    if not isinstance(data, dict):
        raise ValidationError.single("body", "object", N_("The body must be a JSON object."))
    errors = list(int_errors(data))
    if errors:
        raise ValidationError(errors)
    return data


class MalformedJson(ValidationError):
    """The body is not JSON at all (400, unlike a well-formed body with wrong values: 422)."""

    status = 400
    title = N_("The body is not valid JSON")

    def __init__(self) -> None:
        super().__init__(
            [FieldError(field="body", code="json", message=N_("The body is not valid JSON."))]
        )


class _FloatMarker(str):
    """A JSON number with a fraction, kept as its text so it can become an exact Decimal."""

    __slots__ = ()


def json_whole(value: Any) -> Any:
    """A JSON number written with a zero fraction (``5.0``, an integer to JSON Schema) as the
    int it is; any other value as it came."""
    if isinstance(value, _FloatMarker):
        try:
            return whole_number(value)
        except ValueError:
            return value
    return value


def _reject_float_marker(text: str) -> str:
    # Amounts must never pass through a binary float; keep the literal digits instead.
    return _FloatMarker(text)


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not allowed in JSON")


_PATH = re.compile(r"@ \$(.*)$")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _text_type_errors(data: Any, cls: type, path: str = "") -> Iterator[FieldError]:
    """Text fields of ``cls`` (nested entities and lines too) given anything but a JSON string.

    The core's converter reads stored JSON, where ``str(value)`` is harmless; a request body's
    ``{"name": {}}`` must be a type error, not the name "{}". (A JSON number with a fraction
    arrives as a str subclass, kept exact for Decimals: not text either.)
    """
    if not isinstance(data, Mapping) or not attrs.has(cls):
        return
    hints = _hints(cls)
    for field in attrs.fields(cls):
        if field.name not in data:
            continue
        value, where = data[field.name], f"{path}.{field.name}" if path else field.name
        hint = hints[field.name]
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional = typing.get_origin(hint) in (Union, UnionType)
        if value is None and optional:
            continue
        kind = options[0] if optional else hint
        if (kind is str and type(value) is not str) or (
            attrs.has(kind) and not isinstance(value, Mapping)
        ):
            yield FieldError(
                field=where, code="type", message=N_("This value has the wrong type or format.")
            )
        elif attrs.has(kind):
            yield from _text_type_errors(value, kind, where)
        elif typing.get_origin(kind) in (tuple, list) and isinstance(value, list):
            item = typing.get_args(kind)[0] if typing.get_args(kind) else Any
            for index, element in enumerate(value):
                yield from _text_type_errors(element, item, f"{where}.{index}")


def _whole_ints(data: Any, cls: type) -> Any:
    """``data`` with each integer field of ``cls`` (nested entities and lines too) that came as
    a number with a zero fraction (``1.0``, an integer to JSON Schema) as that int."""
    if not isinstance(data, Mapping) or not attrs.has(cls):
        return data
    hints = _hints(cls)
    out = dict(data)
    for field in attrs.fields(cls):
        if field.name not in out:
            continue
        hint = hints[field.name]
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        kind = options[0] if typing.get_origin(hint) in (Union, UnionType) else hint
        value = out[field.name]
        if kind is int:
            out[field.name] = json_whole(value)
        elif attrs.has(kind):
            out[field.name] = _whole_ints(value, kind)
        elif typing.get_origin(kind) in (tuple, list) and isinstance(value, list):
            item = typing.get_args(kind)[0] if typing.get_args(kind) else Any
            out[field.name] = [_whole_ints(element, item) for element in value]
    return out


def structure(data: Mapping[str, Any], cls: type[Any]) -> Any:
    """Build ``cls`` from a JSON body with the core's converter; wrong types are field errors
    (a whole number written ``1.0`` is an integer, as JSON Schema says)."""
    errors = list(_text_type_errors(data, cls))
    if errors:
        raise ValidationError(errors)
    try:
        entity = converter.structure(_whole_ints(data, cls), cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise ValidationError(_field_errors(exc)) from None
    errors = list(decimal_errors(entity))
    if errors:
        raise ValidationError(errors)
    return entity


def _field_errors(exc: Exception) -> list[FieldError]:
    if isinstance(exc, cattrs.BaseValidationError):
        messages = cattrs.transform_error(exc)
    else:
        messages = [str(exc)]
    errors = []
    for message in messages:
        match = _PATH.search(message)
        path = match.group(1) if match else ""
        field = re.sub(r"\[(\w+)\]", r".\1", path).lstrip(".") or "body"
        code = "required" if "required field missing" in message else "type"
        text = (
            N_("This field is required.")
            if code == "required"
            else N_("This value has the wrong type or format.")
        )
        errors.append(FieldError(field=field, code=code, message=text))
    return errors or [
        FieldError(
            field="body", code="type", message=N_("This value has the wrong type or format.")
        )
    ]


def int_param(request: Request, name: str) -> int | None:
    """An integer query parameter, or a 422 naming it."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = whole_number(raw)
    except ValueError:
        raise ValidationError.single(name, "integer", N_("Enter a whole number.")) from None
    if not 0 <= value <= MAX_INT:
        raise ValidationError.single(name, "range", N_("The number is out of range."))
    return value


#: The most items one page of a list may hold (the documents list's query says so too).
MAX_PAGE = MAX_LIMIT


def page_limit(request: Request, *, default: int = 50, maximum: int = MAX_PAGE) -> int:
    """``limit`` from the query string, 1 to ``maximum``; ``default`` when it is absent
    (``limit=0`` is a 422 like any other number out of range, not a silent default)."""
    limit = int_param(request, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise ValidationError.single(
            "limit", "range", N_("Ask for between 1 and %(max)s items."), max=maximum
        )
    return limit


def paging(request: Request, *, default: int = 50, maximum: int = MAX_PAGE) -> tuple[int, int]:
    """``limit`` and ``offset`` from the query string, within bounds."""
    limit = page_limit(request, default=default, maximum=maximum)
    return limit, int_param(request, "offset") or 0


def limit_param(maximum: int = MAX_PAGE, description: str = "") -> Param:
    """The ``limit`` query parameter as :func:`page_limit` checks it."""
    return Param(
        name="limit",
        where="query",
        schema={"type": "integer", "minimum": 1, "maximum": maximum},
        description=description,
    )


PAGING: Sequence[Param] = (
    limit_param(),
    Param(
        name="offset", where="query", schema={"type": "integer", "minimum": 0, "maximum": MAX_INT}
    ),
)
