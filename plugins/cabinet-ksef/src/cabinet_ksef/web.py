"""The staff's KSeF pages (routes registered through cabinet-web's ``register_routes`` hook):

* ``GET /settings/ksef``: the clients the signed-in staff member may see, with whether KSeF is
  on, the authorisation method, valid until, the last sync and the last error;
* ``GET /settings/ksef/{client_id}``: one client's KSeF settings and status;
* ``POST /settings/ksef/{client_id}``: save them (KSeF on/off, environment, a KSeF token or a
  certificate with its key, as PEM files or one PKCS#12 bundle) — administrators and
  accountants;
* ``POST /settings/ksef/{client_id}/check``: "Test connection": queues a check the worker runs;
  the page shows its result when reloaded.

The same as JSON, in the cabinet's API under ``/api/v1`` (cabinet-web's ``api_endpoints``
hook: a personal token or the session, token scopes, RFC 9457 problems, the OpenAPI document):
``GET /api/v1/ksef/clients/{client_id}`` (the status), ``POST`` the same path (a JSON object
``{"enabled", "environment", "method", "token"}``, or multipart with the certificate files)
and ``POST /api/v1/ksef/clients/{client_id}/check`` (202, queued). The old paths
``/api/ksef/clients/…`` answer with a permanent redirect (308) to the new ones.

The pages read only the cabinet's own records: no KSeF call ever happens while a person waits
(ksef-api.md §0.5). The web shell's kit comes from ``request.app.state.kit`` (this plugin never
imports cabinet-web); access to a client is the clients service's own check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cabinet_core.entities import Role
from cabinet_core.errors import N_, FieldError, NotFound, PermissionDenied, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from cabinet_ksef import checks
from cabinet_ksef.api import Credentials
from cabinet_ksef.credentials import (
    MAX_UPLOAD_BYTES,
    CredentialInfo,
    CredentialVault,
    certificate_credentials,
    token_credentials,
)
from cabinet_ksef.receiving import ReceiveState
from cabinet_ksef.sending import ENVIRONMENT_KEY, LAST_ERROR_KEY
from cabinet_ksef.settings import ENVIRONMENTS, KsefSettings

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import Client
    from cabinet_core.ksef.port import KsefPort

OVERVIEW_PATH = "/settings/ksef"
STAFF = (Role.ADMIN, Role.ACCOUNTANT, Role.MANAGER)
#: Who may change a client's KSeF credentials (managers see them only).
EDITORS = frozenset({Role.ADMIN, Role.ACCOUNTANT})

ENVIRONMENT_LABELS = {
    "test": N_("Test (KSeF TE)"),
    "demo": N_("Demo (pre-production)"),
    "production": N_("Production"),
}


def _cabinet(request: Request) -> Cabinet:
    cabinet: Cabinet = request.app.state.cabinet
    return cabinet


def _kit(request: Request) -> Any:
    # The web shell hands its public kit (cabinet_web.kit) to plugins on the app.
    return request.app.state.kit


def _settings(cabinet: Cabinet) -> KsefSettings:
    return KsefSettings.of(cabinet)


def _when(value: object) -> datetime | None:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def client_status(cabinet: Cabinet, client: Client) -> dict[str, Any]:
    """What the pages show of one client's KSeF (its own records only)."""
    assert client.id is not None
    port = cabinet.ksef_port()
    settings = _settings(cabinet)
    vault = CredentialVault(settings.credentials_key, port)
    info: CredentialInfo | None = vault.info(client.id)
    receive = ReceiveState.from_json(port.client_state(client.id, "receive"))
    last_error = port.client_state(client.id, LAST_ERROR_KEY)
    environment = port.client_state(client.id, ENVIRONMENT_KEY) or settings.environment
    now = port.now()
    return {
        "client": client,
        "enabled": port.enabled(client.id),
        "environment": environment,
        "base_url": settings.base_url,
        "credentials": info,
        "readable": info is None or vault.credentials(client.id) is not None,
        "expired": info is not None and info.expired(now),
        "receive": receive,
        "last_error": last_error if isinstance(last_error, Mapping) else None,
        "check": checks.last_check(port, client.id),
    }


def _overview(cabinet: Cabinet, actor: Any) -> list[dict[str, Any]]:
    return [client_status(cabinet, client) for client in cabinet.clients.list(actor)]


def _client_page(cabinet: Cabinet, actor: Any, client_id: int) -> dict[str, Any]:
    # The clients service checks that the actor may see this client (PermissionDenied, 403).
    return client_status(cabinet, cabinet.clients.get(actor, client_id))


#: The largest id the cabinet's tables hold (a 32-bit integer on every database).
_MAX_ID = 2**31 - 1


def _client_id(request: Request) -> int:
    # An id no table can hold is simply not found (not a driver error on the way to the database).
    number = int(request.path_params["client_id"])
    if not 0 < number <= _MAX_ID:
        raise NotFound()
    return number


async def _overview_page(request: Request) -> Response:
    kit = _kit(request)
    rows = await kit.run(_overview, _cabinet(request), kit.actor_of(request))
    response: Response = kit.render(
        request,
        "ksef_overview.html",
        {"rows": rows, "environment_labels": ENVIRONMENT_LABELS},
    )
    return response


def _render_client(
    request: Request,
    status: Mapping[str, Any],
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    code: int = 200,
) -> Response:
    kit = _kit(request)
    info: CredentialInfo | None = status["credentials"]
    defaults = {
        "enabled": "true" if status["enabled"] else "",
        "environment": str(status["environment"]),
        "method": info.method if info else "token",
    }
    actor = request.state.user
    response: Response = kit.render(
        request,
        "ksef_client.html",
        {
            "s": status,
            "values": {**defaults, **(values or {})},
            "errors": errors or {},
            "environments": [
                (key, request.state.gettext(ENVIRONMENT_LABELS[key])) for key in ENVIRONMENTS
            ],
            "can_edit": actor is not None and actor.role in EDITORS,
            "max_upload_kb": MAX_UPLOAD_BYTES // 1024,
        },
    )
    response.status_code = code
    return response


async def _client_settings_page(request: Request) -> Response:
    kit = _kit(request)
    status = await kit.run(
        _client_page, _cabinet(request), kit.actor_of(request), _client_id(request)
    )
    return _render_client(request, status)


async def _upload(value: object) -> bytes | None:
    if isinstance(value, UploadFile):
        data = await value.read(MAX_UPLOAD_BYTES + 1)
        return data or None
    return None


def save_client_settings(
    cabinet: Cabinet,
    actor: Any,
    client_id: int,
    form: Mapping[str, str],
    files: Mapping[str, bytes | None],
) -> None:
    """Apply the settings form: KSeF on/off, the environment and (when given) new credentials.
    Everything is checked before anything is written (:class:`ValidationError`)."""
    client = cabinet.clients.get(actor, client_id)
    port: KsefPort = cabinet.ksef_port()
    settings = _settings(cabinet)
    vault = CredentialVault(settings.credentials_key, port)
    errors: list[FieldError] = []
    environment = form.get("environment", "").strip()
    if environment not in ENVIRONMENTS:
        errors.append(
            FieldError(field="environment", code="choice", message=N_("Choose an environment."))
        )
    enabled = form.get("enabled") in ("true", "on", "1")
    if enabled and not client.nip:
        errors.append(
            FieldError(
                field="enabled",
                code="nip",
                message=N_("The client has no NIP: KSeF needs it as the context."),
            )
        )
    method = form.get("method", "token")
    credentials: Credentials | None = None
    context_nip = client.nip or ""
    try:
        if method == "token" and form.get("token", "").strip():
            credentials = token_credentials(context_nip, form["token"])
        elif method == "certificate" and (files.get("certificate") or files.get("private_key")):
            credentials = certificate_credentials(
                context_nip,
                files.get("certificate") or b"",
                files.get("private_key"),
                form.get("password", "").encode() or None,
                now=port.now(),
            )
        elif method not in ("token", "certificate"):
            errors.append(FieldError(field="method", code="choice", message=N_("Choose a method.")))
    except ValidationError as exc:
        errors.extend(exc.errors)
    credential_fields = {"token", "certificate", "private_key", "password"}
    if (
        enabled
        and credentials is None
        and vault.info(client_id) is None
        and not any(error.field in credential_fields for error in errors)
    ):
        errors.append(
            FieldError(
                field="token" if method == "token" else "certificate",
                code="required",
                message=N_("KSeF needs credentials: a KSeF token or a certificate."),
            )
        )
    if errors:
        raise ValidationError(errors)
    port.set_client_state(client_id, ENVIRONMENT_KEY, environment)
    if credentials is not None:
        vault.keep(client_id, credentials, now=port.now(), valid_until=None)
    if port.enabled(client_id) != enabled:
        port.set_enabled(client_id, enabled)


def queue_check(cabinet: Cabinet, actor: Any, client_id: int) -> None:
    """Queue the client's connection check (after the access check)."""
    cabinet.clients.get(actor, client_id)
    checks.request_check(cabinet.ksef_port(), client_id)


async def _save_client_settings(request: Request) -> Response:
    kit = _kit(request)
    cabinet = _cabinet(request)
    client_id = _client_id(request)
    actor = kit.actor_of(request)
    form_data = await request.form()
    try:
        form = {key: value for key, value in form_data.items() if isinstance(value, str)}
        files = {
            "certificate": await _upload(form_data.get("certificate")),
            "private_key": await _upload(form_data.get("private_key")),
        }
    finally:
        await form_data.close()
    try:
        await kit.run(save_client_settings, cabinet, actor, client_id, form, files)
    except ValidationError as exc:
        status = await kit.run(_client_page, cabinet, actor, client_id)
        values = {k: v for k, v in form.items() if k not in ("token", "password", "csrf_token")}
        return _render_client(
            request,
            status,
            values=values,
            errors=kit.errors_by_field(request, exc.errors),
            code=422,
        )
    kit.flash(request, request.state.gettext("KSeF settings saved."))
    response: Response = kit.redirect(f"{OVERVIEW_PATH}/{client_id}")
    return response


async def _check(request: Request) -> Response:
    kit = _kit(request)
    client_id = _client_id(request)
    await kit.run(queue_check, _cabinet(request), kit.actor_of(request), client_id)
    kit.flash(
        request,
        request.state.gettext(
            "The connection test is queued; reload this page in a moment to see its result."
        ),
    )
    response: Response = kit.redirect(f"{OVERVIEW_PATH}/{client_id}")
    return response


async def overview_page(request: Request) -> Response:
    """``GET /settings/ksef``: staff only."""
    response: Response = await _kit(request).page(roles=STAFF)(_overview_page)(request)
    return response


async def client_settings_page(request: Request) -> Response:
    """``GET /settings/ksef/{client_id}``: staff who may see the client."""
    response: Response = await _kit(request).page(roles=STAFF)(_client_settings_page)(request)
    return response


async def save_client_settings_page(request: Request) -> Response:
    """``POST /settings/ksef/{client_id}``: administrators and accountants."""
    page = _kit(request).page(roles=EDITORS)
    response: Response = await page(_save_client_settings)(request)
    return response


async def check_page(request: Request) -> Response:
    """``POST /settings/ksef/{client_id}/check``: staff who may see the client."""
    response: Response = await _kit(request).page(roles=STAFF)(_check)(request)
    return response


# -- the JSON API -------------------------------------------------------------------------------

API_PATH = "/ksef/clients/{client_id:int}"
#: Where the API lived before it joined ``/api/v1`` (a 308 redirect now).
OLD_API_PATH = "/api/ksef/clients/{client_id:int}"

_CLIENT_PARAM = {
    "name": "client_id",
    "in": "path",
    "schema": {"type": "integer", "minimum": 1, "maximum": _MAX_ID},
    "description": "The client",
    "required": True,
}
_NULLABLE_TEXT = {"type": ["string", "null"]}
STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A client's KSeF settings and status (never a secret)",
    "properties": {
        "client_id": {"type": "integer"},
        "nip": _NULLABLE_TEXT,
        "enabled": {"type": "boolean"},
        "environment": {"type": "string", "enum": list(ENVIRONMENTS)},
        "base_url": _NULLABLE_TEXT,
        "credentials": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "method": {"type": "string", "enum": ["token", "certificate"]},
                        "subject": _NULLABLE_TEXT,
                        "valid_until": _NULLABLE_TEXT,
                        "expired": {"type": "boolean"},
                        "readable": {"type": "boolean"},
                        "updated_at": _NULLABLE_TEXT,
                    },
                    "required": ["method", "valid_until", "expired", "readable"],
                },
            ]
        },
        "receiving": {"type": "object"},
        "last_error": {},
        "check": {},
    },
    "required": ["client_id", "enabled", "environment", "credentials", "receiving"],
}
_SETTINGS_FIELDS: dict[str, Any] = {
    "environment": {"type": "string", "enum": list(ENVIRONMENTS)},
    "method": {"type": "string", "enum": ["token", "certificate"]},
    "token": {"type": "string", "description": "A KSeF token (one line of printable ASCII)"},
}
SETTINGS_BODY: dict[str, Any] = {
    "application/json": {
        "type": "object",
        "properties": {"enabled": {"type": "boolean"}, **_SETTINGS_FIELDS},
        "required": ["environment"],
    },
    "multipart/form-data": {
        "type": "object",
        "properties": {
            "enabled": {"type": "string", "description": "true, on or 1 switches KSeF on"},
            **_SETTINGS_FIELDS,
            "certificate": {"type": "string", "format": "binary"},
            "private_key": {"type": "string", "format": "binary"},
            "password": {"type": "string"},
        },
        "required": ["environment"],
    },
}
#: The JSON body's fields and the type each must have.
_JSON_TYPES: dict[str, type] = {"enabled": bool, "environment": str, "method": str, "token": str}


def status_json(status: Mapping[str, Any]) -> dict[str, Any]:
    """A client's KSeF status as the JSON API gives it (never a secret)."""
    info: CredentialInfo | None = status["credentials"]
    receive: ReceiveState = status["receive"]
    client = status["client"]
    return {
        "client_id": client.id,
        "nip": client.nip,
        "enabled": status["enabled"],
        "environment": status["environment"],
        "base_url": status["base_url"] or None,
        "credentials": None
        if info is None
        else {
            "method": info.method,
            "subject": info.subject or None,
            "valid_until": info.valid_until.isoformat() if info.valid_until else None,
            "expired": status["expired"],
            "readable": status["readable"],
            "updated_at": info.updated_at.isoformat() if info.updated_at else None,
        },
        "receiving": {
            key: value
            for key, value in receive.to_json().items()
            if key in ("last_sync", "last_imported", "imported_total", "last_error", "failed")
        },
        "last_error": status["last_error"],
        "check": status["check"],
    }


def _api_actor(request: Request, roles: frozenset[Role] | tuple[Role, ...]) -> Any:
    if request.state.user.role not in roles:
        raise PermissionDenied()
    return _kit(request).actor_of(request)


async def api_status(request: Request) -> Response:
    """Staff who may see the client (administrators, accountants, managers)."""
    actor = _api_actor(request, STAFF)
    status = await _kit(request).run(_client_page, _cabinet(request), actor, _client_id(request))
    return JSONResponse(status_json(status))


async def api_save(request: Request) -> Response:
    """Administrators and accountants; the status after saving. A JSON body, or
    ``multipart/form-data`` with the certificate and key as PEM files or one PKCS#12 bundle."""
    actor = _api_actor(request, tuple(EDITORS))
    cabinet, client_id = _cabinet(request), _client_id(request)
    files: dict[str, bytes | None] = {"certificate": None, "private_key": None}
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form_data = await request.form()
        try:
            form = {k: v for k, v in form_data.items() if isinstance(v, str)}
            files = {name: await _upload(form_data.get(name)) for name in files}
        finally:
            await form_data.close()
    else:
        import json

        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise ValidationError.single("body", "json", N_("The body is not JSON.")) from None
        if not isinstance(body, dict):
            raise ValidationError.single("body", "json", N_("The body is not a JSON object."))
        wrong = [
            FieldError(
                field=key, code="type", message=N_("This value has the wrong type or format.")
            )
            for key, kind in _JSON_TYPES.items()
            if key in body and not isinstance(body[key], kind)
        ]
        if wrong:
            raise ValidationError(wrong)
        form = {
            "enabled": "true" if body.get("enabled") is True else "",
            "environment": str(body.get("environment") or ""),
            "method": str(body.get("method") or "token"),
            "token": str(body.get("token") or ""),
        }
    await _kit(request).run(save_client_settings, cabinet, actor, client_id, form, files)
    status = await _kit(request).run(_client_page, cabinet, actor, client_id)
    return JSONResponse(status_json(status))


async def api_check(request: Request) -> Response:
    """Staff who may see the client; the worker runs the test, the status shows its result."""
    actor = _api_actor(request, STAFF)
    await _kit(request).run(queue_check, _cabinet(request), actor, _client_id(request))
    return JSONResponse({"status": "queued"}, status_code=202)


async def moved(request: Request) -> Response:
    """The API's old path: a permanent redirect (308 keeps the method and the body)."""
    target = "/api/v1" + request.url.path.removeprefix("/api")
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(target, status_code=308)


#: The JSON API's operations (cabinet-web's ``api_endpoints`` hook puts them under /api/v1).
API_ENDPOINTS: list[dict[str, Any]] = [
    {
        "path": API_PATH,
        "method": "GET",
        "handler": api_status,
        "summary": "A client's KSeF settings and status",
        "operation_id": "ksef_client_status",
        "params": [_CLIENT_PARAM],
        "response": STATUS_SCHEMA,
    },
    {
        "path": API_PATH,
        "method": "POST",
        "handler": api_save,
        "summary": "Switch KSeF on or off for a client, choose its environment, give credentials",
        "operation_id": "ksef_client_save",
        "params": [_CLIENT_PARAM],
        "body": SETTINGS_BODY,
        "response": STATUS_SCHEMA,
    },
    {
        "path": API_PATH + "/check",
        "method": "POST",
        "handler": api_check,
        "summary": "Queue a test of a client's KSeF connection",
        "operation_id": "ksef_client_check",
        "params": [_CLIENT_PARAM],
        "response": {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["queued"]}},
            "required": ["status"],
        },
        "status": 202,
    },
]

ROUTES: list[Route] = [
    Route(OLD_API_PATH, moved, methods=["GET", "POST"], name="ksef_api_moved"),
    Route(OLD_API_PATH + "/check", moved, methods=["POST"], name="ksef_api_check_moved"),
    Route(OVERVIEW_PATH, overview_page, methods=["GET"], name="ksef_overview"),
    Route(
        OVERVIEW_PATH + "/{client_id:int}",
        client_settings_page,
        methods=["GET"],
        name="ksef_client",
    ),
    Route(
        OVERVIEW_PATH + "/{client_id:int}",
        save_client_settings_page,
        methods=["POST"],
        name="ksef_client_save",
    ),
    Route(
        OVERVIEW_PATH + "/{client_id:int}/check",
        check_page,
        methods=["POST"],
        name="ksef_client_check",
    ),
]
