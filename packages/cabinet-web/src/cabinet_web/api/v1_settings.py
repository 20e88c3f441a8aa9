"""``/api/v1/settings/branding`` and ``/api/v1/settings/mail``: the admins' branding and SMTP
settings and the test e-mail, the same service calls as the settings pages (admins only; the
SMTP password is write-only: a read says only whether one is set)."""

from __future__ import annotations

from typing import Any

from cabinet_core.errors import N_, ValidationError
from starlette.requests import Request

from cabinet_web.api._endpoint import actor, json_whole, text
from cabinet_web.api.v1 import endpoint
from cabinet_web.api.v1_invoicing import DELIVERY_SCHEMA, _body, _text, delivery_json
from cabinet_web.kit import cabinet_of, run

_STRING = {"type": "string"}
BRANDING_FIELDS = ("firm_name", "primary_color", "accent_color", "host_name")
BRANDING_SCHEMA = {
    "type": "object",
    "properties": {
        "firm_name": _STRING,
        "primary_color": {"type": "string", "description": "#rrggbb; white text on it ≥ 4.5:1"},
        "accent_color": {"type": "string", "description": "#rrggbb; black text on it ≥ 4.5:1"},
        "host_name": _STRING,
        "logo_url": {"type": ["string", "null"]},
        "from_environment": {"type": "array", "items": _STRING},
    },
}
MAIL_FIELDS = ("host", "port", "starttls", "ssl", "username", "sender")
MAIL_SCHEMA = {
    "type": "object",
    "properties": {
        "host": _STRING,
        "port": {"type": "integer"},
        "starttls": {"type": "boolean"},
        "ssl": {"type": "boolean"},
        "username": _STRING,
        "sender": _STRING,
        "password_set": {"type": "boolean", "description": "The password itself is never sent"},
        "mailer": _STRING,
        "from_environment": {"type": "array", "items": _STRING},
    },
}


async def _branding(request: Request) -> dict[str, Any]:
    form = await run(cabinet_of(request).branding.form, actor(request))
    effective = form.effective
    return {
        "firm_name": effective.firm_name,
        "primary_color": effective.primary_color,
        "accent_color": effective.accent_color,
        "host_name": form.host_name,
        "logo_url": effective.logo_url,
        "from_environment": list(form.from_environment),
    }


@endpoint("/settings/branding", "GET", "The firm's branding in force", response=BRANDING_SCHEMA)
async def get_branding(request: Request) -> dict[str, Any]:
    """What every page shows; ``from_environment`` lists the fields the operator's environment
    sets (they win over a change made here)."""
    return await _branding(request)


@endpoint(
    "/settings/branding",
    "PUT",
    "Change the firm's name, colours and host name",
    body={
        "type": "object",
        "properties": {name: _STRING for name in BRANDING_FIELDS},
        "required": ["firm_name", "primary_color", "accent_color"],
        "additionalProperties": False,
    },
    response=BRANDING_SCHEMA,
)
async def put_branding(request: Request) -> dict[str, Any]:
    """A colour whose text would be below WCAG AA (4.5:1) is a 422 at its field. The logo is
    uploaded on the settings page."""
    body = await _body(request, BRANDING_FIELDS)
    values = {name: _text(body, name) for name in BRANDING_FIELDS}
    await run(cabinet_of(request).branding.update, actor(request), **values)
    return await _branding(request)


async def _mail(request: Request) -> dict[str, Any]:
    form = await run(cabinet_of(request).mail_settings.form, actor(request))
    return {
        "host": form.host,
        "port": form.port,
        "starttls": form.starttls,
        "ssl": form.ssl,
        "username": form.username,
        "sender": form.sender,
        "password_set": form.password_set,
        "mailer": form.mailer,
        "from_environment": list(form.from_environment),
    }


@endpoint("/settings/mail", "GET", "The SMTP settings in force", response=MAIL_SCHEMA)
async def get_mail(request: Request) -> dict[str, Any]:
    """Without the password: ``password_set`` says whether there is one."""
    return await _mail(request)


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ValidationError.single(name, "type", N_("This value has the wrong type or format."))
    return value


@endpoint(
    "/settings/mail",
    "PUT",
    "Change the SMTP settings",
    body={
        "type": "object",
        "properties": {
            "host": text(non_blank=True),
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "starttls": {"type": "boolean"},
            "ssl": {"type": "boolean"},
            "username": _STRING,
            "sender": text(non_blank=True),
            "password": {"type": "string", "description": "Absent or empty: keep the stored one"},
            "clear_password": {"type": "boolean"},
        },
        "required": ["host", "port", "sender"],
        "additionalProperties": False,
    },
    response=MAIL_SCHEMA,
)
async def put_mail(request: Request) -> dict[str, Any]:
    """Field errors as on the page (host, port 1–65535, SSL or STARTTLS, sender)."""
    body = await _body(request, (*MAIL_FIELDS, "password", "clear_password"))
    port = json_whole(body.get("port"))
    if not isinstance(port, int) or isinstance(port, bool):
        raise ValidationError.single("port", "type", N_("Enter a port from 1 to 65535."))
    await run(
        cabinet_of(request).mail_settings.update,
        actor(request),
        host=_text(body, "host"),
        port=str(port),
        starttls=_flag(body, "starttls"),
        ssl=_flag(body, "ssl"),
        username=_text(body, "username"),
        sender=_text(body, "sender"),
        password=_text(body, "password"),
        clear_password=_flag(body, "clear_password"),
    )
    return await _mail(request)


@endpoint(
    "/settings/mail/test",
    "POST",
    "Queue a test e-mail (the worker sends it with the settings in force)",
    body={
        "type": "object",
        "properties": {"to": {"type": "string", "format": "email"}},
        "required": ["to"],
        "additionalProperties": False,
    },
    response=DELIVERY_SCHEMA,
    status=202,
)
async def send_test_mail(request: Request) -> dict[str, Any]:
    """Its state (queued, sent, retrying, failed) is at ``GET /settings/mail/tests``."""
    body = await _body(request, ("to",))
    queued = await run(
        cabinet_of(request).mail_settings.send_test,
        actor(request),
        _text(body, "to"),
        language=request.state.language,
    )
    return delivery_json(queued)


@endpoint(
    "/settings/mail/tests",
    "GET",
    "The caller's latest test e-mails and their state, newest first",
    response={"type": "array", "items": DELIVERY_SCHEMA},
)
async def list_test_mails(request: Request) -> list[dict[str, Any]]:
    """At most five."""
    tests = await run(cabinet_of(request).mail_settings.tests, actor(request))
    return [delivery_json(message) for message in tests]
