"""What Bitrix24 sends the cabinet: the backend's inbound handler (:class:`EventHandler`), and
CRM events (bitrix24.md §6) to document statuses.

Bitrix24 posts an event form-encoded with only ids (``event``, ``data[FIELDS][ID]``,
``data[FIELDS][ENTITY_TYPE_ID]``, ``auth[application_token]``, ``auth[member_id]`` …) to
``/hooks/bitrix24``; the web shell hands it to :class:`EventHandler` as an
:class:`~cabinet_core.sync.InboundRequest`. The handler parses the form, checks the
``application_token`` once (:func:`token_accepted`, constant time; a foreign or missing token
changes nothing and gets 403) and answers at once, because the portal gives a slow handler a
lower priority and never retries (bitrix24.md §6.3); the work runs in the reply's ``after``
(:func:`run_event`): CRM item events here, feed events in :mod:`.news`, Open Lines answers in
:mod:`.chat`, ``ONAPPINSTALL`` in :mod:`.install`.

An item event reads the item (``crm.item.get``), finds the cabinet document by the origin
field, and moves it to the status its stage maps back to (:mod:`.stages`) through the port's
``apply_status``, whose outbox row carries this backend as its origin and is therefore not
pushed back (no echo loop).

Handled: ``ONCRMDYNAMICITEMUPDATE`` (smart processes and new invoices; the per-type variant
``…_1038`` too) and ``ONCRMQUOTEUPDATE``. The ``…ADD``/``…DELETE`` events of the same entities
are answered and ignored: items are created by the cabinet, and a deleted item does not delete
a document (that stays a decision for people).

Payment follows the pipeline: a stage that maps to the workflow state ``paid`` marks the document
paid (``apply_crm_status`` does so with the state); moving a paid document back to an earlier
stage marks it unpaid again (``apply_crm_payment``). The amount paid (``opportunity``) is not
compared, as Bitrix24 items carry the document total, not payments.

A move that needs a reason in the cabinet (a returned cost invoice) takes the newest comment
staff wrote on the item's timeline around the move (``crm.timeline.comment.list``), so the
client reads why; without one the reason is "Bitrix24".

Drafts are the client's own: a stage moved on the item of a document still in its workflow's
first state changes nothing.

Client tagging: every item the cabinet writes has the client's company as ``mycompanyId``
(:mod:`.parties`); a change is applied only when that tag, if present, is the company of the
document's own client, so an origin id copied onto another client's item changes nothing.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cabinet_core.entities import PartyKind, PaymentStatus
from cabinet_core.errors import NotFound
from cabinet_core.sync import InboundReply, InboundRequest

from cabinet_bitrix import chat, news
from cabinet_bitrix.auth import AuthError, PortTokenStore, application_token_matches
from cabinet_bitrix.backend import BitrixBackend
from cabinet_bitrix.batching import run_batch
from cabinet_bitrix.client import BitrixError
from cabinet_bitrix.forms import parse_form
from cabinet_bitrix.news import plain_text
from cabinet_bitrix.paging import rows_of
from cabinet_bitrix.parties import PartyRecord, client_origin
from cabinet_bitrix.stages import StageMap

if TYPE_CHECKING:
    from cabinet_core.sync import SyncPort

log = logging.getLogger("cabinet.bitrix.inbound")

#: The backend's state key of the application token of an outgoing webhook set up in the
#: portal's UI, saved by an admin (settings key ``bitrix24.application_token``); an installed
#: app's token is kept with its OAuth tokens (``portal.<member_id>``). The one name of it.
APPLICATION_TOKEN_KEY = "application_token"  # noqa: S105 (a state key)
#: The largest event accepted (events carry ids only; a feed or chat event a few KiB).
MAX_EVENT_BYTES = 256 * 1024

_UPDATES = ("ONCRMDYNAMICITEMUPDATE", "ONCRMQUOTEUPDATE")
_IGNORED = (
    "ONCRMDYNAMICITEMADD",
    "ONCRMDYNAMICITEMDELETE",
    "ONCRMQUOTEADD",
    "ONCRMQUOTEDELETE",
)


def field(form: Mapping[str, Any], *path: str) -> str:
    """A value of the event form by path, whether the form is flat (``data[FIELDS][ID]`` keys,
    as web frameworks parse it) or nested (``{"data": {"FIELDS": {"ID": …}}}``)."""
    flat = path[0] + "".join(f"[{part}]" for part in path[1:])
    if flat in form:
        return str(form[flat])
    value: Any = form
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return ""
        value = value[part]
    return "" if isinstance(value, Mapping | list) else str(value)


def token_accepted(port: SyncPort, member_id: str, given: str) -> bool:
    """Whether ``given`` is the application token saved for the portal ``member_id`` at
    install (only the configured portal's install is ever saved), or the one an admin saved
    for an outgoing webhook; compared in constant time. The one check every event passes."""
    if not given:
        return False
    if member_id:
        tokens = PortTokenStore(port).load(member_id)
        if tokens is not None and application_token_matches(tokens, given):
            return True
    saved = port.state(APPLICATION_TOKEN_KEY)
    return (
        isinstance(saved, str)
        and bool(saved)
        and hmac.compare_digest(saved.encode(), given.encode())
    )


def document_id_of(backend: BitrixBackend, origin: Any) -> int | None:
    """The document id in an origin value written by this cabinet (``cabinet-document-42``)."""
    prefix = f"{backend.settings.origin_prefix}-document-"
    text = str(origin or "")
    if not text.startswith(prefix) or not text[len(prefix) :].isdigit():
        return None
    return int(text[len(prefix) :])


def client_company(backend: BitrixBackend, client_id: int) -> int | None:
    """The id of the company that stands for cabinet client ``client_id`` (looked up once)."""
    origin = client_origin(backend.settings.origin_prefix, client_id)
    if origin not in backend.parties.known:
        probe = PartyRecord(origin=origin, kind=PartyKind.COMPANY, name="")
        found = run_batch(backend.client, [backend.parties.find_command(probe)])
        backend.parties.found(probe, found)
    return backend.parties.known.get(origin)


#: How long before moving an item a timeline comment still counts as the reason for the move.
REASON_WINDOW = timedelta(minutes=30)


def staff_reason(
    backend: BitrixBackend, entity_type_id: int, item: Mapping[str, Any]
) -> str | None:
    """The newest comment on the item's timeline written around its last stage move
    (``crm.timeline.comment.list``), as plain text; ``None`` when there is none."""
    entity = "quote" if entity_type_id == 7 else f"dynamic_{entity_type_id}"
    try:
        rows = rows_of(
            backend.client.call(
                "crm.timeline.comment.list",
                {
                    "filter": {"ENTITY_ID": int(item["id"]), "ENTITY_TYPE": entity},
                    "order": {"ID": "DESC"},
                    "select": ["ID", "CREATED", "COMMENT"],
                },
            )
        )
    except BitrixError as exc:
        log.warning("bitrix24: the timeline of item %s could not be read: %s", item.get("id"), exc)
        return None
    moved = _moment(item.get("movedTime"))
    for row in rows:
        created = _moment(row.get("CREATED"))
        if moved is not None and created is not None and created < moved - REASON_WINDOW:
            continue
        text = plain_text(str(row.get("COMMENT") or "")).strip()
        if text:
            return text[:1000]
    return None


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def apply_item(
    port: SyncPort,
    backend: BitrixBackend,
    entity_type_id: int,
    item: Mapping[str, Any],
    stages: StageMap | None = None,
) -> str:
    """Bring the document an item stands for to the status of the item's stage; what
    happened, in a few words (for logs and reconciliation reports)."""
    # The portal's name of the field (found by its xmlId), not the configured default.
    field_name = backend.ensure_origin_field(entity_type_id)
    document_id = document_id_of(backend, item.get(field_name))
    if document_id is None:
        return "ignored: not a cabinet document"
    document = port.document(document_id)
    if document is None:
        return f"ignored: document {document_id} no longer exists"
    if backend.settings.entity_type_for(document.doc_type) != entity_type_id:
        return f"ignored: document {document_id} is not kept as entity type {entity_type_id}"
    tag = int(item.get("mycompanyId") or 0)
    if tag and tag != client_company(backend, document.client_id):
        log.warning(
            "bitrix24: item %s of type %s names document %s of another client; not applied",
            item.get("id"),
            entity_type_id,
            document_id,
        )
        return f"refused: item {item.get('id')} is not tagged with the document's client"
    document_type = port.document_type(document.doc_type)
    stage = str(item.get("stageId") or "")
    if document_type is None or not stage:
        return f"ignored: document {document_id} has no stage to follow"
    if document.status == document_type.workflow.initial:
        # A draft is the client's own until it is issued or handed over: staff moving its item
        # (it is in the CRM because every save is pushed) must not act in the client's place.
        return f"ignored: document {document_id} is still a draft"
    stages = stages or StageMap.load(port)
    status = stages.status_for(document_type, entity_type_id, stage, document.status)
    if status is None:
        return f"ignored: stage {stage} is not mapped for {document.doc_type}"
    if (
        status == "paid"
        and document.payment_status is PaymentStatus.PAID
        and stages.stage_for_document(document_type, entity_type_id, document)
        == stages.stage_for(document_type, entity_type_id, "paid")
    ):
        # The cabinet put the item there itself (a payment recorded without a status change,
        # StageMap.stage_for_document): its own write coming back changes nothing.
        return f"unchanged: document {document_id} is paid"
    comment = "Bitrix24"
    if status != document.status and any(
        t.target == status and t.needs_comment for t in document_type.workflow.transitions
    ):
        # A move that needs a reason in the cabinet (a returned invoice): the reason staff
        # wrote on the item's timeline when moving it.
        comment = staff_reason(backend, entity_type_id, item) or comment
    try:
        moved = port.apply_status(document_id, status, comment=comment)
    except (ValueError, NotFound) as exc:
        log.warning("bitrix24: stage %s of document %s not applied: %s", stage, document_id, exc)
        return f"ignored: {exc}"
    if moved is None:
        return f"unchanged: document {document_id} is {status}"
    if (
        document.status == "paid"
        and status != "paid"
        and moved.payment_status == PaymentStatus.PAID
    ):
        port.apply_payment(document_id, PaymentStatus.UNPAID)
    return f"status: document {document_id} {document.status} → {status}"


def handle_item_event(
    port: SyncPort, backend: BitrixBackend, event: str, form: Mapping[str, Any]
) -> str:
    """Apply one CRM item event (its token already checked by :class:`EventHandler`); what
    happened: ``"ignored …"``, ``"unchanged …"``, ``"status: …"``, ``"invalid …"`` for junk,
    ``"failed: …"`` when the portal could not be read (reconciliation catches up later).
    Never raises for a bad event."""
    if event.startswith(_IGNORED):
        return f"ignored: {event}"
    if not event.startswith(_UPDATES):
        return f"ignored: {event} is not a CRM item event"
    item_id = field(form, "data", "FIELDS", "ID")
    if event.startswith("ONCRMQUOTE"):
        entity_type = "7"
    else:
        entity_type = field(form, "data", "FIELDS", "ENTITY_TYPE_ID") or event.rpartition("_")[2]
    if not item_id.isdigit() or not entity_type.isdigit():
        return "invalid: the event names no item"
    try:
        answer = backend.client.call(
            "crm.item.get",
            {"entityTypeId": int(entity_type), "id": int(item_id), "useOriginalUfNames": "Y"},
        )
    except BitrixError as exc:
        if exc.code == "NOT_FOUND":
            return f"ignored: item {item_id} no longer exists"
        log.warning("bitrix24: reading item %s for %s failed: %s", item_id, event, exc)
        return f"failed: {exc}"
    except AuthError as exc:
        return f"failed: {exc}"
    item = answer.get("item") if isinstance(answer, Mapping) else None
    if not isinstance(item, Mapping):
        return "failed: crm.item.get answered without an item"
    try:
        return apply_item(port, backend, int(entity_type), item)
    except BitrixError as exc:
        log.warning("bitrix24: applying item %s failed: %s", item_id, exc)
        return f"failed: {exc}"


def dispatch_event(
    port: SyncPort, backend: BitrixBackend, event: str, form: Mapping[str, Any]
) -> str:
    """Run the work an accepted event asks for; what happened (for the log)."""
    if event.startswith("ONCRM"):
        return handle_item_event(port, backend, event, form)
    if event in news.FEED_EVENTS:
        return news.handle_feed_event(port, backend, event)
    if event == "ONIMCONNECTORMESSAGEADD":
        data = form.get("data")
        return chat.handle_connector_event(port, backend, data if isinstance(data, Mapping) else {})
    if event == "ONAPPUNINSTALL":
        member_id = field(form, "auth", "member_id")
        PortTokenStore(port).forget(member_id)
        return f"uninstalled from {member_id}: tokens dropped"
    return "ignored: not an event the cabinet follows"


def run_event(port: SyncPort, backend: BitrixBackend, event: str, form: Mapping[str, Any]) -> str:
    """:func:`dispatch_event` after the answer was sent: a failure is logged, never raised
    (the portal never retries; reconciliation and the periodic pulls catch up)."""
    try:
        outcome = dispatch_event(port, backend, event, form)
    except Exception:
        log.exception("bitrix24 event %s failed", event)
        return "failed: see the log"
    log.info("bitrix24 event %s: %s", event, outcome)
    return outcome


class EventHandler:
    """The backend's :class:`~cabinet_core.sync.InboundHandler`: every call the portal makes
    to ``/hooks/bitrix24`` (events, and ``ONAPPINSTALL`` when the app is installed that way)."""

    max_body_bytes = MAX_EVENT_BYTES

    def __init__(self, backend: BitrixBackend) -> None:
        self.backend = backend

    def handle(self, port: SyncPort, request: InboundRequest) -> InboundReply:
        """Check the event and answer at once; the work is the reply's ``after``. Junk gets
        400, a foreign token 403, and neither changes anything."""
        if request.method.upper() != "POST":
            return InboundReply.problem(405, "Method not allowed", "Bitrix24 posts its events.")
        if len(request.body) > self.max_body_bytes:
            return InboundReply.problem(413, "Content too large")
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return InboundReply.problem(400, "Bad request", "expected a form-encoded event")
        try:
            form = parse_form(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return InboundReply.problem(400, "Bad request", "malformed event")
        event = str(form.get("event", "")).strip().upper()
        auth = form.get("auth")
        if not event or not isinstance(auth, Mapping):
            return InboundReply.problem(400, "Bad request", "not a Bitrix24 event")
        if event == "ONAPPINSTALL":
            return self._install(port, form)
        member_id = str(auth.get("member_id", ""))
        if not token_accepted(port, member_id, str(auth.get("application_token", ""))):
            log.warning("bitrix24 event %s refused: unknown application token", event)
            return InboundReply.problem(403, "Forbidden", "unknown application token")
        return InboundReply(
            body=b"accepted",
            content_type="text/plain",
            after=functools.partial(run_event, port, self.backend, event, form),
        )

    def _install(self, port: SyncPort, form: Mapping[str, Any]) -> InboundReply:
        from cabinet_bitrix.install import (
            INSTALLED_PAGE,
            InstallRefused,
            accept_install,
            setup_after_install,
        )

        try:
            accept_install(port, self.backend, form)
        except InstallRefused as exc:
            return InboundReply.problem(exc.status, "Install refused", str(exc))
        return InboundReply(
            body=INSTALLED_PAGE,
            content_type="text/html",
            after=functools.partial(setup_after_install, self.backend, port.base_url),
        )
