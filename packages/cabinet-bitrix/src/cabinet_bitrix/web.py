"""Bitrix24's way into the cabinet: the event handler, the app's install handler, staff sign-in
from a placement, and the admins' settings page. Registered through cabinet-web's
``register_routes`` hook (see :mod:`cabinet_bitrix.plugin`). cabinet-web is never imported: its
public web kit (:mod:`cabinet_web.kit`) is reached as ``request.app.state.kit``.

* The events the portal sends reach ``POST /hooks/bitrix24``, the web shell's generic
  ``/hooks/{backend}`` route, which hands them to the backend's inbound handler
  (:class:`cabinet_bitrix.inbound.EventHandler`: parsing, the one application-token check, the
  answer at once and the work after it); nothing here serves them.
* ``POST /bitrix24/install``: the install callback of the local app (or ``ONAPPINSTALL``):
  the tokens are confirmed with the OAuth server (a form could name any portal address) and
  kept for the configured portal, then the events, the placement and the Open Lines
  connector are bound.
* ``POST /bitrix24/placement``: a member of staff opens the app in the portal. The placement's
  ``AUTH_ID`` is checked by calling ``user.current`` *at the installed portal's address* (never
  at a domain the form names), the portal user is matched to a staff user by e-mail, and a
  normal cabinet session starts; the page answering in the portal's frame may be framed by
  that portal only and links to the cabinet (a one-minute sign-in link), since browsers do not
  send the session cookie to a site inside another site's frame.
* ``GET /settings/bitrix24``: for admins, what is configured, what each mode gives, and how
  the sync is doing.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from cabinet_core.entities import Actor, Role, User
from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from cabinet_bitrix import chat, convergence, fieldmap, install, news, people, stages
from cabinet_bitrix.auth import AuthError, PortTokenStore, reinstall_needed
from cabinet_bitrix.backend import BACKEND_NAME
from cabinet_bitrix.forms import parse_form
from cabinet_bitrix.inbound import APPLICATION_TOKEN_KEY
from cabinet_bitrix.reconcile import STATE_KEY as RECONCILE_STATE_KEY
from cabinet_bitrix.settings import NAMESPACE, BitrixSettings

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.backend import BitrixBackend
    from cabinet_bitrix.client import BitrixClient

log = logging.getLogger("cabinet.bitrix.web")

HOOK_PATH = install.HOOK_PATH
INSTALL_PATH = "/bitrix24/install"
PLACEMENT_PATH = install.PLACEMENT_PATH
SIGN_IN_PATH = "/bitrix24/sign-in"
SETTINGS_PATH = "/settings/bitrix24"
RETRY_PATH = "/settings/bitrix24/retry"
PEOPLE_PATH = "/settings/bitrix24/people"
STAGES_PATH = "/settings/bitrix24/stages"
FIELDS_PATH = "/settings/bitrix24/fields"
CHECK_PATH = "/settings/bitrix24/check"
#: The backend's state key of the last "test connection" (when, whether it answered, what).
CONNECTION_CHECK_KEY = "connection_check"
#: A stage code as the mapping names it (``UC_CHECKED``), or a full stage id (``DT1038_37:NEW``).
_STAGE_CODE = re.compile(r"[A-Za-z0-9_]{1,50}(:[A-Za-z0-9_]{1,50})?")
#: POSTs that come from the portal's servers or its frame, not from the cabinet's forms: they
#: prove themselves by the application token or by a token checked with the portal.
CSRF_EXEMPT = frozenset({INSTALL_PATH, PLACEMENT_PATH})
SIGN_IN_MAX_AGE = 60
#: The backend's state key of the sign-in links already used (nonce → when it expires), so a
#: link works once: a copied or replayed link within its minute opens nothing.
USED_SIGN_IN_KEY = "used_sign_in"
#: The placement page's own stylesheet (the plugin's ``static_dirs``).
STYLESHEET = "/static/plugins/bitrix24/placement.css"
#: A page handler, as cabinet-web's kit wraps them.
Endpoint = Callable[[Request], Awaitable[Response]]


# --- what the routes need ------------------------------------------------------------------


def _cabinet(request: Request) -> Cabinet:
    cabinet: Cabinet = request.app.state.cabinet
    return cabinet


def _kit(request: Request) -> Any:
    # The web shell hands its public kit (cabinet_web.kit) to plugins on the app; importing it
    # would tie this plugin to cabinet-web's package (and the layering test forbids it).
    return request.app.state.kit


def bitrix_settings(cabinet: Cabinet) -> BitrixSettings | None:
    """The connector's settings, ``None`` when the cabinet does not use Bitrix24."""
    if "bitrix24" not in cabinet.settings.crm_backends:
        return None
    try:
        return BitrixSettings.of(cabinet)
    except ValueError:
        return None


def _port(cabinet: Cabinet) -> SyncPort:
    return cabinet.sync_port(BACKEND_NAME)


def bitrix_backend(cabinet: Cabinet) -> BitrixBackend | None:
    """The active ``bitrix24`` backend, if any."""
    if bitrix_settings(cabinet) is None:
        return None
    from cabinet_bitrix.backend import BitrixBackend

    backend = cabinet.crm_backend("bitrix24")
    assert isinstance(backend, BitrixBackend)
    return backend


def _transport(request: Request) -> httpx.BaseTransport | None:
    # Tests and the demo serve the portal in-process; in production this is the network.
    return getattr(request.app.state, "bitrix_transport", None)


def _base_url(request: Request) -> str:
    configured = _cabinet(request).settings.base_url.rstrip("/")
    return configured or str(request.base_url).rstrip("/")


def _flat(raw: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in raw.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(_flat(value, name))
        elif isinstance(value, list):
            flat.update(_flat({str(i): item for i, item in enumerate(value)}, name))
        else:
            flat[name] = "" if value is None else str(value)
    return flat


# --- events --------------------------------------------------------------------------------


# --- install -------------------------------------------------------------------------------


def setup_app(cabinet: Cabinet, bitrix: BitrixClient, base_url: str) -> list[str]:
    """Bind what the app gives on the portal (:func:`cabinet_bitrix.install.setup_app`);
    what was bound."""
    backend = bitrix_backend(cabinet)
    if backend is None:
        raise RuntimeError("the cabinet's bitrix24 backend is not active")
    return install.setup_app(backend, bitrix, base_url)


async def _install(request: Request, form: Mapping[str, str]) -> Response:
    cabinet = _cabinet(request)
    backend = bitrix_backend(cabinet)
    if backend is None:
        return PlainTextResponse("the cabinet is not set up for a Bitrix24 app", status_code=409)
    try:
        await run_in_threadpool(
            functools.partial(
                install.accept_install,
                _port(cabinet),
                backend,
                form,
                transport=_transport(request),
            )
        )
    except install.InstallRefused as exc:
        return PlainTextResponse(str(exc), status_code=exc.status)
    return HTMLResponse(
        install.INSTALLED_PAGE,
        background=BackgroundTask(install.setup_after_install, backend, _base_url(request)),
    )


async def install_hook(request: Request) -> Response:
    """``POST /bitrix24/install``: the local app's install callback."""
    body = await request.body()
    try:
        nested = parse_form(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return PlainTextResponse("malformed install request", status_code=400)
    # The query string carries DOMAIN, PROTOCOL, LANG, APP_SID (bitrix24.md §1.5).
    form = {**dict(request.query_params), **_flat(nested)}
    return await _install(request, form)


# --- staff sign-in from a placement --------------------------------------------------------


def _signer(cabinet: Cabinet) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(cabinet.settings.secret_key, salt="cabinet.bitrix24.sign-in")


def staff_for_placement(
    cabinet: Cabinet, form: Mapping[str, str], transport: httpx.BaseTransport | None
) -> User | None:
    """The staff user a placement's ``AUTH_ID`` belongs to, or ``None``. The token is checked
    by the installed portal itself (``user.current`` at its saved address)."""
    from cabinet_bitrix.client import BitrixClient, BitrixError

    settings = bitrix_settings(cabinet)
    auth_id = form.get("AUTH_ID", "")
    if settings is None or settings.mode != "app" or not auth_id:
        return None
    if form.get("member_id", "") != settings.member_id:
        return None
    tokens = PortTokenStore(_port(cabinet)).load(settings.member_id)
    if tokens is None:
        return None
    with BitrixClient(_FrameAuth(tokens.client_endpoint, auth_id), transport=transport) as client:
        try:
            me = client.call("user.current", repeatable=True)
        except BitrixError as exc:
            log.warning("bitrix24 placement: user.current refused the token: %s", exc)
            return None
    email = str(me.get("EMAIL", "")) if isinstance(me, Mapping) else ""
    if not email or me.get("ACTIVE") is False:
        return None
    user = cabinet.users.find_by_email(Actor.system(), email)
    if user is None or not user.active or user.role is Role.CLIENT:
        return None
    return user


class _FrameAuth:
    """The placement's own token, used once for ``user.current`` (nothing to refresh)."""

    mode = "app"

    def __init__(self, endpoint: str, token: str) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.token = token

    def prepare(self, method: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        return f"{self.endpoint}{method}.json", {**params, "auth": self.token}

    def refresh(self, http: httpx.Client, used: Mapping[str, Any]) -> bool:
        return False


_DYNAMIC_TAB = re.compile(r"CRM_DYNAMIC_(\d+)_DETAIL_TAB")


def document_path_for_placement(cabinet: Cabinet, form: Mapping[str, str]) -> str:
    """Where a placement opened on a CRM card leads: the cabinet's page of the document the
    card's item stands for (``PLACEMENT_OPTIONS.ID``), else the staff home."""
    placement = form.get("PLACEMENT", "").upper()
    dynamic = _DYNAMIC_TAB.fullmatch(placement)
    entity_type = 7 if placement == "CRM_QUOTE_DETAIL_TAB" else None
    if dynamic is not None:
        entity_type = int(dynamic.group(1))
    backend = bitrix_backend(cabinet)
    if entity_type is None or backend is None:
        return "/"
    try:
        options = json.loads(form.get("PLACEMENT_OPTIONS") or "{}")
        item_id = int(str(options.get("ID"))) if isinstance(options, Mapping) else 0
    except (ValueError, TypeError):
        return "/"
    from cabinet_bitrix.client import BitrixError
    from cabinet_bitrix.inbound import document_id_of

    try:
        answer = backend.client.call(
            "crm.item.get",
            {"entityTypeId": entity_type, "id": item_id, "useOriginalUfNames": "Y"},
        )
    except (BitrixError, AuthError) as exc:
        log.warning("bitrix24 placement: item %s not read: %s", item_id, exc)
        return "/"
    item = answer.get("item") if isinstance(answer, Mapping) else None
    if not isinstance(item, Mapping):
        return "/"
    document_id = document_id_of(backend, item.get(backend.ensure_origin_field(entity_type)))
    return f"/documents/{document_id}" if document_id is not None else "/"


def _frame_policy(cabinet: Cabinet) -> str:
    tokens = None
    settings = bitrix_settings(cabinet)
    if settings is not None and settings.member_id:
        tokens = PortTokenStore(_port(cabinet)).load(settings.member_id)
    origin = ""
    if tokens is not None:
        parts = urlsplit(tokens.client_endpoint)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    ancestors = origin or "'none'"
    return (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"frame-ancestors {ancestors}; form-action 'self'; base-uri 'none'"
    )


def _placement_page(title: str, text: str, link: str | None, label: str) -> str:
    from markupsafe import escape

    anchor = (
        f'<p><a href="{escape(link)}" target="_blank" rel="noopener">{escape(label)}</a></p>'
        if link
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="pl"><head><meta charset="utf-8">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="{STYLESHEET}">'
        f'</head><body><main id="content"><h1>{escape(title)}</h1><p>{escape(text)}</p>'
        f"{anchor}</main></body></html>"
    )


async def placement(request: Request) -> Response:
    """``POST /bitrix24/placement``: sign the member of staff in, no second password."""
    kit = _kit(request)
    cabinet = _cabinet(request)
    _ = request.state.gettext
    form = await kit.read_form(request)
    user = await run_in_threadpool(staff_for_placement, cabinet, form, _transport(request))
    headers = {"content-security-policy": await run_in_threadpool(_frame_policy, cabinet)}
    if user is None:
        page = _placement_page(
            _("No access to the Panel Klienta"),
            _(
                "Your Bitrix24 account is not a staff account of the Panel Klienta. "
                "Ask an administrator to add a staff user with your e-mail address."
            ),
            None,
            "",
        )
        return HTMLResponse(page, status_code=403, headers=headers)
    kit.sign_in(request, user)
    target = await run_in_threadpool(document_path_for_placement, cabinet, form)
    token = _signer(cabinet).dumps(
        {
            "user": user.id,
            "auth": kit.session_fingerprint(user),
            "next": target,
            "once": secrets.token_urlsafe(16),
        }
    )
    page = _placement_page(
        _("Panel Klienta"),
        _("Signed in as %(name)s.") % {"name": user.name or user.email},
        f"{_base_url(request)}{SIGN_IN_PATH}?token={token}",
        _("Open the Panel Klienta"),
    )
    return HTMLResponse(page, headers=headers)


def claim_sign_in(port: SyncPort, nonce: str) -> bool:
    """Mark the sign-in link ``nonce`` used; ``False`` when it already was. Entries older than
    a link's lifetime are dropped (a link that old is refused by its signature anyway)."""
    now = port.now()
    used = port.state(USED_SIGN_IN_KEY)
    kept = {
        key: until
        for key, until in (used.items() if isinstance(used, Mapping) else ())
        if isinstance(until, str) and datetime.fromisoformat(until) > now
    }
    if nonce in kept:
        return False
    kept[nonce] = (now + timedelta(seconds=SIGN_IN_MAX_AGE + 5)).isoformat()
    port.set_state(USED_SIGN_IN_KEY, kept)
    return True


async def sign_in(request: Request) -> Response:
    """``GET /bitrix24/sign-in?token=``: the placement's one-minute link opens a session in a
    window of its own, then the staff home. The link works once."""
    kit = _kit(request)
    cabinet = _cabinet(request)
    try:
        data = _signer(cabinet).loads(
            request.query_params.get("token", ""), max_age=SIGN_IN_MAX_AGE
        )
        user_id = int(data["user"])
        nonce = str(data["once"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return RedirectResponse("/login", status_code=303)
    if not await run_in_threadpool(claim_sign_in, _port(cabinet), nonce):
        log.warning("bitrix24 sign-in: a used link was opened again (user %s)", user_id)
        return RedirectResponse("/login", status_code=303)
    try:
        user: User | None = await run_in_threadpool(cabinet.users.get, Actor.system(), user_id)
    except NotFound:
        user = None
    if user is None or not user.active or data.get("auth") != kit.session_fingerprint(user):
        return RedirectResponse("/login", status_code=303)
    kit.sign_in(request, user)
    target = str(data.get("next") or "/")
    # Only the cabinet's own pages (the token is signed, but a path is all it may carry).
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return RedirectResponse(target, status_code=303)


# --- the settings page ---------------------------------------------------------------------


def settings_overview(cabinet: Cabinet) -> dict[str, Any]:
    """What the settings page shows (a plain dict; tested without HTML)."""
    settings = bitrix_settings(cabinet)
    overview: dict[str, Any] = {
        "configured": settings is not None,
        "active": "bitrix24" in cabinet.settings.crm_backends,
        "mode": settings.mode if settings is not None else None,
        "portal": "",
        "installed": False,
        "news_group": None,
        "news_group_error": "",
        "open_line": "",
        "webhook_token_saved": False,
        "failures": [],
        "pending": 0,
        "last_reconcile": None,
        "bindings": [],
    }
    if settings is not None:
        if settings.mode == "app":
            tokens = PortTokenStore(_port(cabinet)).load(settings.member_id)
            overview["installed"] = tokens is not None
            overview["portal"] = tokens.domain if tokens is not None else settings.member_id
        else:
            overview["portal"] = urlsplit(settings.webhook_url).netloc
        try:
            overview["news_group"] = news.news_group(
                cabinet.plugin_config(NAMESPACE).get("news_group", "")
            )
        except ValueError as exc:
            overview["news_group_error"] = str(exc)
        try:
            overview["open_line"] = chat.open_line(
                cabinet.plugin_config(NAMESPACE).get("openline", "")
            )
        except ValueError as exc:
            overview["open_line"] = str(exc)
    port = _port(cabinet)
    overview["webhook_token_saved"] = bool(port.state(APPLICATION_TOKEN_KEY, ""))
    # Written by cabinet_bitrix.reconcile after each pass.
    state = port.state(RECONCILE_STATE_KEY)
    overview["last_reconcile"] = state.get("last_run") if isinstance(state, Mapping) else None
    # This backend's own deliveries: another CRM's or the mail's are not its business.
    failed = port.deliveries("failed", limit=1000)
    waiting = port.deliveries("pending", limit=1000)
    overview["failures"] = failed[:20]
    overview["failed"] = len(failed)
    overview["pending"] = len(waiting)
    delivered = port.deliveries("delivered", limit=1)
    last_success = delivered[0].delivered_at if delivered else None
    overview["last_success"] = last_success
    overview["health"] = crm_health(last_success, failed, waiting)
    # The app's tokens were refused for good: deliveries wait (without spending attempts)
    # until an admin reinstalls the app; the health check says so too.
    overview["reinstall"] = reinstall_needed(port)
    if overview["reinstall"]:
        overview["health"] = "reinstall"
    overview["people"] = people_rows(cabinet, port)
    overview["stages"] = stage_rows(cabinet)
    overview["fields"] = field_rows(cabinet)
    overview["field_sources"] = [*fieldmap.SOURCES, "extra.<name>"]
    check = port.state(CONNECTION_CHECK_KEY)
    overview["connection_check"] = check if isinstance(check, Mapping) else None
    # Written by cabinet_bitrix.convergence after each pass.
    overview["convergence"] = convergence.overview(port)
    return overview


def crm_health(
    last_success: datetime | None,
    failed: Sequence[OutboxMessage],
    waiting: Sequence[OutboxMessage],
) -> str:
    """``down`` when the newest delivery outcome is a failure (a failed delivery after the
    last success, or messages being retried with none delivered since), ``ok`` when
    deliveries go through, ``idle`` when nothing was ever delivered nor failed."""
    retrying = [m for m in waiting if m.attempts > 0]
    failures = [m.failed_at for m in failed if m.failed_at is not None]
    if last_success is None:
        return "down" if failures or retrying else "idle"
    if any(at > last_success for at in failures) or retrying:
        return "down"
    return "ok"


def people_rows(cabinet: Cabinet, port: SyncPort) -> list[dict[str, Any]]:
    """The firm's staff with the portal user each is mapped to explicitly (``None``: found by
    e-mail)."""
    try:
        explicit = people.check_people(port.state(people.STATE_KEY))
    except ValueError:
        explicit = {}
    staff = [u for u in cabinet.users.list(Actor.system()) if u.client_id is None and u.active]
    return [
        {
            "id": u.id,
            "name": u.name,
            "email": u.email,
            "role": u.role.value,
            "portal_id": explicit.get(str(u.id)),
        }
        for u in sorted(staff, key=lambda u: (u.name.lower(), u.email))
    ]


def save_person(cabinet: Cabinet, actor: Actor, form: Mapping[str, str]) -> None:
    """Map one staff user to a portal user id (an empty id removes the mapping); audited as
    the admin's settings change. :class:`ValidationError` names the bad field."""
    user_id = form.get("user_id", "").strip()
    portal_id = form.get("portal_user_id", "").strip()
    errors = []
    staff = {str(u.id) for u in cabinet.users.list(Actor.system()) if u.client_id is None}
    if user_id not in staff:
        errors.append(
            FieldError(field="user_id", code="invalid", message=N_("Choose a member of staff."))
        )
    if portal_id and (not portal_id.isdigit() or int(portal_id) <= 0):
        errors.append(
            FieldError(
                field="portal_user_id",
                code="invalid",
                message=N_("A Bitrix24 user id is a whole number above zero."),
            )
        )
    if errors:
        raise ValidationError(errors)
    port = _port(cabinet)
    try:
        mapping = people.check_people(port.state(people.STATE_KEY))
    except ValueError:
        mapping = {}
    if portal_id:
        mapping[user_id] = int(portal_id)
    else:
        mapping.pop(user_id, None)
    cabinet.settings_store.set(actor, f"{BACKEND_NAME}.{people.STATE_KEY}", mapping)


def stage_rows(cabinet: Cabinet) -> list[dict[str, Any]]:
    """Every document type with its status → stage mapping in force (the admins' override or
    the defaults for the CRM entity it becomes), for the stage mapping form."""
    settings = bitrix_settings(cabinet)
    try:
        overrides = stages.check_mapping(_port(cabinet).state(stages.STATE_KEY))
    except stages.StageMapError:
        overrides = {}
    rows = []
    for key, document_type in cabinet.document_types.items():
        entity_type_id = settings.entity_type_for(key) if settings is not None else 7
        defaults = stages.default_mapping(document_type, entity_type_id)
        mapped = overrides.get(key, defaults)
        rows.append(
            {
                "key": key,
                "label": document_type.label,
                "entity_type_id": entity_type_id,
                "overridden": key in overrides,
                "statuses": [
                    {
                        "key": state.key,
                        "label": state.label,
                        "stage": mapped.get(state.key, ""),
                        "default": defaults.get(state.key, ""),
                    }
                    for state in document_type.workflow.states
                ],
            }
        )
    return rows


def save_stages(cabinet: Cabinet, actor: Actor, form: Mapping[str, str]) -> None:
    """Save one document type's status → stage mapping (``stage.<status>`` fields; an empty
    one is not pushed), or drop it for the defaults (``reset``); audited as the admin's
    settings change. :class:`ValidationError` names the bad field."""
    doc_type = form.get("doc_type", "")
    document_type = cabinet.document_types.get(doc_type)
    if document_type is None:
        raise ValidationError.single("doc_type", "invalid", N_("Choose a document type."))
    try:
        mapping = stages.check_mapping(_port(cabinet).state(stages.STATE_KEY))
    except stages.StageMapError:
        mapping = {}
    if form.get("reset"):
        mapping.pop(doc_type, None)
    else:
        chosen: dict[str, str] = {}
        errors = []
        for state in document_type.workflow.states:
            code = form.get(f"stage.{state.key}", "").strip()
            if not code:
                continue
            if not _STAGE_CODE.fullmatch(code):
                errors.append(
                    FieldError(
                        field=f"stage.{state.key}",
                        code="invalid",
                        message=N_("Enter a stage code such as NEW, SUCCESS or UC_CHECKED."),
                    )
                )
            chosen[state.key] = code
        if errors:
            raise ValidationError(errors)
        mapping[doc_type] = chosen
    cabinet.settings_store.set(actor, f"{BACKEND_NAME}.{stages.STATE_KEY}", mapping)


def field_rows(cabinet: Cabinet) -> list[dict[str, Any]]:
    """Every document type with its CRM field mapping as the form shows it: one
    ``CRM_FIELD = cabinet_field`` per line."""
    mapping = fieldmap.load(_port(cabinet))
    return [
        {
            "key": key,
            "label": document_type.label,
            "text": "\n".join(f"{crm} = {source}" for crm, source in mapping.get(key, {}).items()),
        }
        for key, document_type in cabinet.document_types.items()
    ]


def save_fields(cabinet: Cabinet, actor: Actor, form: Mapping[str, str]) -> None:
    """Save one document type's CRM field mapping from its ``fields`` text (one
    ``CRM_FIELD = cabinet_field`` per line; empty removes the type's mapping); audited as the
    admin's settings change. :class:`ValidationError` at ``fields`` names the bad line."""
    doc_type = form.get("doc_type", "")
    if doc_type not in cabinet.document_types:
        raise ValidationError.single("doc_type", "invalid", N_("Choose a document type."))
    chosen: dict[str, str] = {}
    for number, line in enumerate(form.get("fields", "").splitlines(), start=1):
        if not line.strip():
            continue
        crm, _, source = (part.strip() for part in line.partition("="))
        if not fieldmap.CRM_FIELD.fullmatch(crm) or not fieldmap.known_source(source):
            raise ValidationError.single(
                "fields",
                "invalid",
                N_(
                    "Line %(line)s: write a CRM field, “=” and a cabinet field, such as "
                    "UF_CRM_5_NIP = buyer.nip."
                ),
                line=number,
            )
        chosen[crm] = source
    mapping = fieldmap.load(_port(cabinet))
    if chosen:
        mapping[doc_type] = chosen
    else:
        mapping.pop(doc_type, None)
    cabinet.settings_store.set(actor, f"{BACKEND_NAME}.{fieldmap.STATE_KEY}", mapping)


def check_connection(cabinet: Cabinet) -> dict[str, Any]:
    """Ask the portal who we are (``profile``) and keep the answer with its time: the settings
    page shows it. Never raises: a refusal or an unreachable portal is the answer."""
    port = _port(cabinet)
    result: dict[str, Any] = {"at": port.now().isoformat(), "ok": False, "detail": ""}
    backend = bitrix_backend(cabinet)
    if backend is None:
        result["detail"] = "Bitrix24 is not configured"
    else:
        try:
            profile = backend.client.call("profile")
        except Exception as exc:  # the portal's refusal or the network's: shown to the admin
            result["detail"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            result["ok"] = True
            if isinstance(profile, Mapping):
                name = " ".join(str(profile.get(k) or "") for k in ("NAME", "LAST_NAME")).strip()
                result["detail"] = name or str(profile.get("ID", ""))
    port.set_state(CONNECTION_CHECK_KEY, result)
    return result


#: What reconciliation found different about a document, as staff read it.
WHY_LABELS = {
    "unconfirmed": N_("never confirmed by Bitrix24"),
    "content": N_("rows or amounts changed"),
    "missing": N_("item missing"),
    "rows": N_("product rows changed in Bitrix24"),
    "stage": N_("stage"),
    "responsible": N_("Responsible"),
    "links": N_("company or contact"),
}


async def _settings_page(request: Request) -> Response:
    kit = _kit(request)
    overview = await kit.run(settings_overview, _cabinet(request))
    response: Response = kit.render(
        request, "bitrix24_settings.html", _settings_context(request, overview)
    )
    return response


async def _save_webhook_token(request: Request) -> Response:
    kit = _kit(request)
    form = await kit.read_form(request)
    token = form.get("application_token", "").strip()
    cabinet = _cabinet(request)
    # A secret: audited as changed by this admin, never with its value.
    await kit.run(
        functools.partial(
            cabinet.settings_store.set,
            kit.actor_of(request),
            f"{BACKEND_NAME}.{APPLICATION_TOKEN_KEY}",
            token,
            secret=True,
        )
    )
    response: Response = kit.redirect(SETTINGS_PATH)
    return response


async def _retry(request: Request) -> Response:
    kit = _kit(request)
    form = await kit.read_form(request)
    _ = request.state.gettext
    raw = form.get("message_id", "")
    retried = raw.isdigit() and await kit.run(
        functools.partial(
            _port(_cabinet(request)).retry_delivery,
            int(raw),
            reason="retried by an admin on the Bitrix24 page",
            actor_id=kit.actor_of(request).user_id,
        )
    )
    if retried:
        kit.flash(request, _("The delivery is queued again."))
    else:
        kit.flash(request, _("That delivery is no longer failed."))
    response: Response = kit.redirect(SETTINGS_PATH)
    return response


def _settings_context(request: Request, overview: dict[str, Any], **forms: Any) -> dict[str, Any]:
    """The settings page's context: the overview, and each mapping form's values and errors
    (``<form>_form``, ``<form>_errors``: empty unless ``forms`` gives them)."""
    return {
        "bx": overview,
        "why_labels": WHY_LABELS,
        "base_url": _base_url(request),
        "hook_path": HOOK_PATH,
        "install_path": INSTALL_PATH,
        "placement_path": PLACEMENT_PATH,
        "people_errors": {},
        "people_form": {},
        "stage_errors": {},
        "stage_form": {},
        "field_errors": {},
        "field_form": {},
        **forms,
    }


def _mapping_form(
    save: Callable[[Cabinet, Actor, Mapping[str, str]], None],
    name: str,
    *,
    saved: str | None = None,
    anchor: str = "",
) -> Endpoint:
    """The handling the page's mapping forms (people, stages, fields) share: ``save`` the
    form; a :class:`ValidationError` shows the page again (400) with the form ``name``'s values
    kept and each error at its field (``<name>_form``, ``<name>_errors``); else the flash
    ``saved`` (a msgid) and back to the page at ``anchor``."""

    async def endpoint(request: Request) -> Response:
        kit = _kit(request)
        form = await kit.read_form(request)
        cabinet = _cabinet(request)
        try:
            await kit.run(save, cabinet, kit.actor_of(request), form)
        except ValidationError as exc:
            overview = await kit.run(settings_overview, cabinet)
            errors = kit.errors_by_field(request, exc.errors)
            context = _settings_context(
                request, overview, **{f"{name}_errors": errors, f"{name}_form": form}
            )
            invalid: Response = kit.render(
                request, "bitrix24_settings.html", context, status_code=400
            )
            return invalid
        if saved is not None:
            kit.flash(request, request.state.gettext(saved))
        response: Response = kit.redirect(SETTINGS_PATH + anchor)
        return response

    return endpoint


_save_person = _mapping_form(save_person, "people")
_save_stages = _mapping_form(
    save_stages, "stage", saved=N_("The stage mapping was saved."), anchor="#bx-stages"
)
_save_fields = _mapping_form(
    save_fields, "field", saved=N_("The field mapping was saved."), anchor="#bx-fields"
)


async def _check(request: Request) -> Response:
    kit = _kit(request)
    result = await kit.run(check_connection, _cabinet(request))
    _ = request.state.gettext
    if result["ok"]:
        kit.flash(request, _("Bitrix24 answered: %(detail)s") % {"detail": result["detail"]})
    else:
        kit.flash(request, _("Bitrix24 did not answer: %(detail)s") % {"detail": result["detail"]})
    response: Response = kit.redirect(SETTINGS_PATH)
    return response


def _admins_only(endpoint: Endpoint, doc: str) -> Endpoint:
    """``endpoint`` behind cabinet-web's sign-in and role check (others signed in get 403,
    anonymous users the login page); the kit is looked up per request, from the app."""

    async def admitted(request: Request) -> Response:
        page = _kit(request).page(roles=[Role.ADMIN])
        response: Response = await page(endpoint)(request)
        return response

    admitted.__doc__ = doc
    return admitted


settings_page = _admins_only(_settings_page, "``GET /settings/bitrix24``: admins only.")
save_field_mapping = _admins_only(
    _save_fields,
    "``POST /settings/bitrix24/fields``: one document type's CRM field mapping (admins).",
)
save_stage_mapping = _admins_only(
    _save_stages, "``POST /settings/bitrix24/stages``: one document type's stage mapping (admins)."
)
connection_check_page = _admins_only(
    _check, "``POST /settings/bitrix24/check``: ask the portal now and show the answer (admins)."
)
retry_delivery = _admins_only(
    _retry, "``POST /settings/bitrix24/retry``: queue a failed delivery again (admins)."
)
save_person_mapping = _admins_only(
    _save_person,
    "``POST /settings/bitrix24/people``: map a member of staff to a portal user (admins).",
)
save_webhook_token = _admins_only(
    _save_webhook_token,
    "``POST /settings/bitrix24``: save the outgoing webhook's application token (admins).",
)


ROUTES: list[Route] = [
    Route(INSTALL_PATH, install_hook, methods=["POST"], name="bitrix24_install"),
    Route(PLACEMENT_PATH, placement, methods=["POST"], name="bitrix24_placement"),
    Route(SIGN_IN_PATH, sign_in, methods=["GET"], name="bitrix24_sign_in"),
    Route(SETTINGS_PATH, settings_page, methods=["GET"], name="bitrix24_settings"),
    Route(SETTINGS_PATH, save_webhook_token, methods=["POST"], name="bitrix24_settings_save"),
    Route(RETRY_PATH, retry_delivery, methods=["POST"], name="bitrix24_retry"),
    Route(PEOPLE_PATH, save_person_mapping, methods=["POST"], name="bitrix24_people"),
    Route(STAGES_PATH, save_stage_mapping, methods=["POST"], name="bitrix24_stages"),
    Route(FIELDS_PATH, save_field_mapping, methods=["POST"], name="bitrix24_fields"),
    Route(CHECK_PATH, connection_check_page, methods=["POST"], name="bitrix24_check"),
]
# The portal posts events, the install and the placement; none carries our CSRF token (each
# proves itself: the application token, the OAuth server, user.current). cabinet-web reads
# the endpoint attribute, so the exemption lives with the route, per app.
for _route in ROUTES:
    if _route.path in CSRF_EXEMPT:
        _route.endpoint.csrf_exempt = True  # type: ignore[attr-defined]


def register(register_route: Callable[[Route], None]) -> None:
    """Register :data:`ROUTES` (called by the plugin's ``register_routes``)."""
    for route in ROUTES:
        register_route(route)
