"""``/settings/mail``: the SMTP settings kept in the database (the environment wins, the page
says which fields it sets), the password shown only as set/not set, and a "send test e-mail"
button that queues one through the outbox and shows how it went."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Role
from cabinet_core.errors import ValidationError
from cabinet_core.services.mail_settings import ENVIRONMENT
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    read_form,
    redirect,
    render,
    run,
)

__all__ = ["MAIL_SETTINGS_PAGE", "ROUTES"]

MAIL_SETTINGS_PAGE = "/settings/mail"


def _state(message: Any) -> str:
    if message.delivered_at is not None:
        return "sent"
    if message.failed_at is not None:
        return "failed"
    return "retrying" if message.attempts else "queued"


async def _render(
    request: Request,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    form = await run(cabinet.mail_settings.form, actor)
    tests = await run(cabinet.mail_settings.tests, actor)
    if values is None:
        values = {
            "host": form.host,
            "port": str(form.port),
            "starttls": form.starttls,
            "ssl": form.ssl,
            "username": form.username,
            "sender": form.sender,
            "to": request.state.user.email,
        }
    context: dict[str, Any] = {
        "form": form,
        "values": values,
        "errors": errors or {},
        "environment": {field: ENVIRONMENT[field] for field in form.from_environment},
        "tests": [{"message": m, "state": _state(m)} for m in tests],
    }
    return render(request, "mail_settings.html", context, status_code=status)


@page(roles=[Role.ADMIN])
async def mail_settings_page(request: Request) -> Response:
    """The SMTP form and the latest test e-mails."""
    return await _render(request)


@page(roles=[Role.ADMIN])
async def save_mail_settings(request: Request) -> Response:
    """Store the SMTP settings; an empty password field keeps the stored password."""
    form = await read_form(request)
    values: dict[str, Any] = {
        "host": form.get("host", ""),
        "port": form.get("port", ""),
        "starttls": form.get("starttls") == "1",
        "ssl": form.get("ssl") == "1",
        "username": form.get("username", ""),
        "sender": form.get("sender", ""),
    }
    try:
        await run(
            cabinet_of(request).mail_settings.update,
            actor_of(request),
            password=form.get("password", ""),
            clear_password=form.get("clear_password") == "1",
            **values,
        )
    except ValidationError as exc:
        return await _render(
            request,
            values={**values, "to": request.state.user.email},
            errors=errors_by_field(request, exc.errors),
            status=422,
        )
    flash(request, request.state.gettext("The mail settings were saved."))
    return redirect(MAIL_SETTINGS_PAGE)


@page(roles=[Role.ADMIN])
async def send_test_mail(request: Request) -> Response:
    """Queue a test e-mail; the worker sends it, the page lists its state."""
    form = await read_form(request)
    to = form.get("to", "")
    try:
        await run(
            cabinet_of(request).mail_settings.send_test,
            actor_of(request),
            to,
            language=request.state.language,
        )
    except ValidationError as exc:
        return await _render(request, errors=errors_by_field(request, exc.errors), status=422)
    flash(request, request.state.gettext("The test e-mail was queued."))
    return redirect(MAIL_SETTINGS_PAGE)


ROUTES = [
    Route(MAIL_SETTINGS_PAGE, mail_settings_page, methods=["GET"], name="mail_settings"),
    Route(MAIL_SETTINGS_PAGE, save_mail_settings, methods=["POST"], name="mail_settings_save"),
    Route(f"{MAIL_SETTINGS_PAGE}/test", send_test_mail, methods=["POST"], name="mail_test"),
]
