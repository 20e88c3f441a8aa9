"""``/api/v1/settings/branding``, ``/api/v1/settings/mail`` and ``/api/v1/settings/tax-years``:
the admins' branding and SMTP settings, the test e-mail and the PIT/ZUS parameters per tax year,
the same service calls as the settings pages (admins only; the SMTP password is write-only: a
read says only whether one is set)."""

from __future__ import annotations

from typing import Any

from cabinet_core.errors import N_, ValidationError
from cabinet_core.payroll.tax_year import PARAMETERS
from cabinet_core.services.tax_years import RATES, TaxYearRow
from starlette.requests import Request

from cabinet_web.api._endpoint import Param, actor, json_body, json_whole, text
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
        "password_unreadable": {
            "type": "boolean",
            "description": "A stored password the secret key in force cannot open (set it again)",
        },
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
        "password_unreadable": form.password_unreadable,
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


# -- tax years ---------------------------------------------------------------------------------
_DECIMAL = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}
_RATE_PATTERN = r"^(0+(\.\d+)?|0*1(\.0+)?|0*\.\d+)$"
_AMOUNT_PATTERN = r"^\d+(\.\d{1,2})?$"
TAX_PARAMETERS_SCHEMA = {
    "type": "object",
    "properties": {
        name: {
            "type": "string",
            # What the tax-years service accepts: a rate from 0 to 1, an amount of zero or
            # more with at most two places.
            "pattern": _RATE_PATTERN if name in RATES else _AMOUNT_PATTERN,
            "description": "A fraction from 0 to 1" if name in RATES else "PLN, two places",
        }
        for name in PARAMETERS
    },
    "required": list(PARAMETERS),
    "additionalProperties": False,
}
TAX_YEAR_SCHEMA = {
    "type": "object",
    "properties": {
        "year": {"type": "integer"},
        "built_in": {"type": "boolean"},
        "stored": {"type": "boolean", "description": "Saved by an admin over the built-in values"},
        "from_environment": {"type": "array", "items": _STRING},
        "parameters": {**TAX_PARAMETERS_SCHEMA, "additionalProperties": False},
    },
}
_YEAR = Param(
    name="year",
    where="path",
    schema={"type": "integer", "minimum": 2000, "maximum": 2100},
    description="The tax year",
    required=True,
)


def tax_year_json(row: TaxYearRow) -> dict[str, Any]:
    return {
        "year": row.year,
        "built_in": row.built_in,
        "stored": row.stored,
        "from_environment": list(row.from_environment),
        "parameters": {name: str(getattr(row.parameters, name)) for name in PARAMETERS},
    }


def _year_of(request: Request) -> int:
    text = str(request.path_params["year"])
    if not text.isdigit():
        raise ValidationError.single("year", "type", N_("Enter a whole number."))
    return int(text)


@endpoint(
    "/settings/tax-years",
    "GET",
    "The PIT/ZUS parameters of every tax year, newest first",
    response={"type": "array", "items": TAX_YEAR_SCHEMA},
)
async def list_tax_years(request: Request) -> list[dict[str, Any]]:
    """The values in force: built in, overlaid by what admins saved, overlaid by the
    operator's ``CABINET_PAYROLL_<YEAR>_<PARAMETER>`` (listed in ``from_environment``)."""
    rows = await run(cabinet_of(request).tax_years.list, actor(request))
    return [tax_year_json(row) for row in rows]


@endpoint(
    "/settings/tax-years",
    "POST",
    "Add a tax year starting from another year's parameters",
    body={
        "type": "object",
        "properties": {
            "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
            "based_on": {"type": "integer", "minimum": 2000, "maximum": 2100},
        },
        "required": ["year", "based_on"],
        "additionalProperties": False,
    },
    response=TAX_YEAR_SCHEMA,
    status=201,
)
async def add_tax_year(request: Request) -> dict[str, Any]:
    """A year already there, or a ``based_on`` year the cabinet does not know, is a 422."""
    body = await _body(request, ("year", "based_on"))
    for name in ("year", "based_on"):
        body[name] = json_whole(body.get(name))  # 2026.0 is the whole number 2026
        if not isinstance(body.get(name), int) or isinstance(body.get(name), bool):
            raise ValidationError.single(name, "type", N_("Enter a whole number."))
    row = await run(
        cabinet_of(request).tax_years.add,
        actor(request),
        body["year"],
        based_on=body["based_on"],
    )
    return tax_year_json(row)


@endpoint(
    "/settings/tax-years/{year:int}",
    "GET",
    "One tax year's parameters",
    params=(_YEAR,),
    response=TAX_YEAR_SCHEMA,
)
async def get_tax_year(request: Request) -> dict[str, Any]:
    """404 for a year the cabinet does not know."""
    row = await run(cabinet_of(request).tax_years.get, actor(request), _year_of(request))
    return tax_year_json(row)


@endpoint(
    "/settings/tax-years/{year:int}",
    "PUT",
    "Replace a tax year's parameters (bills issued in that year use them)",
    params=(_YEAR,),
    body=TAX_PARAMETERS_SCHEMA,
    response=TAX_YEAR_SCHEMA,
)
async def put_tax_year(request: Request) -> dict[str, Any]:
    """Every parameter as a decimal string; a rate outside 0–1 or a negative amount is a 422
    at its field, and nothing is saved."""
    body = await _body(request, PARAMETERS)
    values = {name: _text(body, name) for name in PARAMETERS}
    row = await run(cabinet_of(request).tax_years.save, actor(request), _year_of(request), values)
    return tax_year_json(row)


# -- VAT rates offered -------------------------------------------------------------------------
VAT_RATES_SCHEMA = {
    "type": "object",
    "properties": {
        "rates": {
            "type": "array",
            "description": "Every rate of the rules in force, in FA(3) order",
            "items": {
                "type": "object",
                "properties": {"code": _STRING, "label": _STRING, "offered": {"type": "boolean"}},
            },
        },
        "offered": {"type": "array", "items": _STRING},
        "from_environment": {"type": "boolean"},
    },
}


async def _vat_rates(request: Request, form: Any = None) -> dict[str, Any]:
    if form is None:
        form = await run(cabinet_of(request).vat_rates.form, actor(request))
    language = request.state.language
    return {
        "rates": [
            {
                "code": rate.code,
                "label": rate.label.get(language, rate.code),
                "offered": rate.code in form.offered,
            }
            for rate in form.rates
        ],
        "offered": list(form.offered),
        "from_environment": form.from_environment,
    }


@endpoint(
    "/settings/vat-rates",
    "GET",
    "The VAT rates the document forms offer",
    response=VAT_RATES_SCHEMA,
)
async def get_vat_rates(request: Request) -> dict[str, Any]:
    """``from_environment``: the operator's ``CABINET_VAT_OFFERED_RATES`` decides."""
    return await _vat_rates(request)


@endpoint(
    "/settings/vat-rates",
    "PUT",
    "Choose the VAT rates the document forms offer",
    body={
        "type": "object",
        "properties": {
            "offered": {"type": "array", "items": _STRING, "minItems": 1, "uniqueItems": True}
        },
        "required": ["offered"],
        "additionalProperties": False,
    },
    response=VAT_RATES_SCHEMA,
)
async def put_vat_rates(request: Request) -> dict[str, Any]:
    """An unknown code or an empty list is a 422 at ``rates``. Only the forms' lists change:
    documents saved through the API may use every rate."""
    body = await _body(request, ("offered",))
    codes = body.get("offered")
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        raise ValidationError.single("offered", "type", N_("Enter a list."))
    form = await run(cabinet_of(request).vat_rates.set_offered, actor(request), codes)
    return await _vat_rates(request, form)


# -- document notes --------------------------------------------------------------------------
DOCUMENT_NOTES_SCHEMA = {
    "type": "object",
    "description": "The notes a new document of each type starts with, by document type",
    "additionalProperties": {"type": "string"},
}


@endpoint(
    "/settings/document-notes",
    "GET",
    "The notes each document type starts with",
    response=DOCUMENT_NOTES_SCHEMA,
)
async def get_document_notes(request: Request) -> dict[str, str]:
    """Types without a text are absent."""
    return await run(cabinet_of(request).document_notes.all, actor(request))


@endpoint(
    "/settings/document-notes",
    "PUT",
    "Set the notes document types start with (only the types sent; empty removes)",
    body=DOCUMENT_NOTES_SCHEMA,
    response=DOCUMENT_NOTES_SCHEMA,
)
async def put_document_notes(request: Request) -> dict[str, str]:
    """An unknown document type or a text longer than a document's notes is a 422 at it."""
    body = await json_body(request)
    for key, value in body.items():
        if not isinstance(value, str):
            raise ValidationError.single(key, "type", N_("Enter text."))
    return await run(cabinet_of(request).document_notes.set_all, actor(request), body)
