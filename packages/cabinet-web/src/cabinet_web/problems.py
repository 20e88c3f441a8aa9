"""Errors as responses: RFC 9457 problem documents for the API, translated pages for people.

Every error a request can meet ends here: the core's :class:`~cabinet_core.errors.CabinetError`
family, Starlette's ``HTTPException`` (404, 405 …) and anything unexpected (a 500 that shows no
traceback). Messages are translated into the request's language.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from cabinet_core.errors import N_, CabinetError, FieldError, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from cabinet_web.i18n import format_message, translations

if TYPE_CHECKING:
    from cabinet_web.templating import Templates

log = logging.getLogger("cabinet_web")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://cabinet.invalid/problems/"

# Titles of plain HTTP statuses; the core's errors bring their own.
STATUS_TITLES: Mapping[int, str] = {
    400: N_("Bad request"),
    401: N_("Please sign in"),
    403: N_("You are not allowed to do this"),
    404: N_("Not found"),
    405: N_("This method is not allowed here"),
    409: N_("The request conflicts with the current state"),
    413: N_("The request is too large"),
    415: N_("Unsupported media type"),
    422: N_("The data is not valid"),
    429: N_("Too many requests"),
    500: N_("Something went wrong on our side"),
    503: N_("The service is unavailable for a moment"),
}

PROBLEM_TYPES: Mapping[int, str] = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "too-many-requests",
    500: "server-error",
    503: "unavailable",
}


def wants_json(request: Request) -> bool:
    """Whether the error should be a problem document (API paths and JSON-only clients)."""
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "html" not in accept


def request_language(request: Request) -> str:
    """The language chosen for ``request``, or the default when the error came before that."""
    language = getattr(request.state, "language", None)
    if language:
        return str(language)
    return str(request.app.state.cabinet.settings.default_language)


def field_errors(language: str, errors: Sequence[FieldError]) -> list[dict[str, str]]:
    """``FieldError``s as translated ``{field, code, message}`` dicts."""
    catalog = translations(language)
    return [
        {
            "field": error.field,
            "code": error.code,
            "message": format_message(catalog, error.message, error.params),
        }
        for error in errors
    ]


def problem(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A problem document; ``title`` and ``detail`` are msgids translated here."""
    language = request_language(request)
    catalog = translations(language)
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + PROBLEM_TYPES.get(status, "error"),
        "title": catalog.gettext(title or STATUS_TITLES.get(status, "Request failed")),
        "status": status,
    }
    if detail:
        body["detail"] = format_message(catalog, detail, params)
    if errors:
        body["errors"] = field_errors(language, errors)
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {})
    )


def error_page(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Response:
    """A translated HTML error page; plain text if even the template cannot be rendered."""
    language = request_language(request)
    catalog = translations(language)
    title = catalog.gettext(STATUS_TITLES.get(status, "Request failed"))
    message = format_message(catalog, detail, params) if detail else ""
    try:
        if not hasattr(request.state, "language"):
            request.state.language = language
        templates: Templates = request.app.state.templates
        return templates.response(
            request,
            "error.html",
            {"status": status, "title": title, "detail": message},
            status_code=status,
        )
    except Exception:
        log.exception("the error page itself failed to render")
        return PlainTextResponse(f"{status} {title}", status_code=status)


def respond(request: Request, status: int, *, detail: str | None = None, **kwargs: Any) -> Response:
    """A problem document or an error page, whichever the request wants."""
    if wants_json(request):
        return problem(request, status, detail=detail, **kwargs)
    return error_page(request, status, detail=detail, params=kwargs.get("params"))


async def handle_cabinet_error(request: Request, exc: Exception) -> Response:
    """The core's errors: their status, title and (for validation) the field errors."""
    assert isinstance(exc, CabinetError)
    errors = exc.errors if isinstance(exc, ValidationError) else ()
    detail = exc.message if exc.message != exc.title else None
    if wants_json(request):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        retry_after = getattr(exc, "retry_after", None)  # a moment's outage (Unavailable)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        return problem(
            request,
            exc.status,
            title=exc.title,
            detail=detail,
            errors=errors,
            params=exc.params,
            headers=headers,
        )
    return error_page(request, exc.status, detail=detail or exc.title, params=exc.params)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (unknown path, wrong method …)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail = exc.detail if exc.detail and exc.detail != _reason(exc.status_code) else None
    response = respond(request, exc.status_code, detail=detail)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def handle_server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: logged with its traceback, shown without it."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return respond(request, 500)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
