"""How an API endpoint is declared: its path, method and the metadata the OpenAPI document uses.

An endpoint is an async function ``(request) -> result``; the wrapper checks authentication,
runs it and turns the result into JSON with the core's one converter. Errors become problem
documents in :mod:`cabinet_web.problems`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import cattrs
from cabinet_core.converter import converter, to_json_dict
from cabinet_core.entities import Actor, User
from cabinet_core.errors import N_, AuthenticationFailed, FieldError, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cabinet_web.limits import MAX_INT, decimal_errors, int_errors
from cabinet_web.problems import problem

Handler = Callable[[Request], Awaitable[Any]]


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
    response: Any = None  # an attrs class, ("list", cls), ("page", cls) or a JSON Schema dict
    status: int = 200
    public: bool = False

    def route(self) -> Route:
        """The Starlette route serving this endpoint."""
        return Route(self.path, _wrap(self), methods=[self.method], name=self.operation_id)


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


def _reject_float_marker(text: str) -> str:
    # Amounts must never pass through a binary float; keep the literal digits instead.
    return _FloatMarker(text)


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not allowed in JSON")


_PATH = re.compile(r"@ \$(.*)$")


def structure(data: Mapping[str, Any], cls: type[Any]) -> Any:
    """Build ``cls`` from a JSON body with the core's converter; wrong types are field errors."""
    try:
        entity = converter.structure(dict(data), cls)
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
        value = int(raw)
    except ValueError:
        raise ValidationError.single(name, "integer", N_("Enter a whole number.")) from None
    if not 0 <= value <= MAX_INT:
        raise ValidationError.single(name, "range", N_("The number is out of range."))
    return value


def paging(request: Request, *, default: int = 50, maximum: int = 200) -> tuple[int, int]:
    """``limit`` and ``offset`` from the query string, within bounds."""
    limit = int_param(request, "limit") or default
    offset = int_param(request, "offset") or 0
    if not 1 <= limit <= maximum:
        raise ValidationError.single(
            "limit", "range", N_("Ask for between 1 and %(max)s items."), max=maximum
        )
    return limit, offset


PAGING: Sequence[Param] = (
    Param(name="limit", where="query", schema={"type": "integer", "minimum": 1, "maximum": 200}),
    Param(name="offset", where="query", schema={"type": "integer", "minimum": 0}),
)
