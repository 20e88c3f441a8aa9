"""KSeF on the web: the document page's KSeF panel (state, KSeF number, UPO, verification QR
codes, a KSeF number typed after a manual upload) and the staff list "KSeF: rejected and
waiting". Every page calls ``cabinet.ksef``; no KSeF call ever happens while a person waits
(the KSeF plugin talks to KSeF from the worker)."""

from __future__ import annotations

from typing import Any

from cabinet_core import access
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, Role
from cabinet_core.errors import N_, Conflict, ValidationError
from cabinet_core.ksef.submission import OPEN_STATES, KsefMode, KsefOfflineMode, KsefState
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    flash,
    page,
    read_form,
    redirect,
    render,
    run,
)

__all__ = ["KSEF_LIST", "ROUTES", "STATE_LABELS", "ksef_panel", "qr_svg"]

#: The staff list's address (the menu links to it).
KSEF_LIST = "/ksef/submissions"
#: A KSeF state in people's words.
STATE_LABELS = {
    KsefState.QUEUED: N_("Waiting to be sent to KSeF"),
    KsefState.SENT: N_("Sent to KSeF, waiting for its answer"),
    KsefState.ACCEPTED: N_("Accepted by KSeF"),
    KsefState.REJECTED: N_("Rejected by KSeF"),
    KsefState.OFFLINE: N_("Issued offline, to be sent to KSeF"),
}
#: Why an invoice was issued outside KSeF (ksef-api.md §11), as the page says it.
OFFLINE_MODE_LABELS = {
    KsefOfflineMode.OFFLINE24: N_("offline24 (KSeF did not answer)"),
    KsefOfflineMode.UNAVAILABILITY: N_("announced KSeF unavailability"),
    KsefOfflineMode.EMERGENCY: N_("emergency mode (announced KSeF failure)"),
}
STAFF = (Role.MANAGER, Role.ACCOUNTANT, Role.ADMIN)


def qr_svg(url: str, title: str) -> Markup:
    """The QR code of ``url`` as inline SVG (error correction M, as the PDF draws it)."""
    import segno  # loaded by the first code drawn, not by every web process at start

    code = segno.make(url, error="m")
    # segno escapes the title; the SVG is its own output, so it is safe to inline.
    return Markup(code.svg_inline(scale=3, title=title, border=2))  # noqa: S704


def ksef_panel(cabinet: Cabinet, actor: Actor, document: Document) -> dict[str, Any]:
    """What the document page shows about KSeF (empty when the type never goes there)."""
    assert document.id is not None
    document_type = cabinet.document_type(document.doc_type)
    if document_type.ksef_kind is None:
        return {}
    overview = cabinet.ksef.overview(actor, document.id)
    submission = overview.submission
    codes = [
        {
            "url": code.url,
            "label": code.label,
            "kind": code.kind,
            "svg": qr_svg(code.url, code.label),
        }
        for code in (submission.verification if submission is not None else ())
    ]
    state = document_type.workflow.state(document.status)
    client = cabinet.clients.get(actor, document.client_id)
    may_record = (
        overview.applies
        and not state.editable
        and access.can_edit_client_data(actor, client)
        and (
            submission is None
            or submission.state is not KsefState.ACCEPTED
            or submission.mode is KsefMode.MANUAL
        )
    )
    return {
        "overview": overview,
        "submission": submission,
        "offline_label": OFFLINE_MODE_LABELS[submission.offline_mode]
        if submission is not None and submission.offline_mode is not None
        else "",
        # A rejected offline invoice, fixed and issued again, is its technical correction.
        "technical_correction": submission is not None
        and submission.technical_correction_possible
        and access.can_edit_client_data(actor, client),
        "state_label": STATE_LABELS[submission.state] if submission is not None else "",
        "codes": codes,
        "may_record": may_record,
    }


def _doc_id(request: Request) -> int:
    return parse_id(request.path_params["doc_id"])


@page()
async def record_number(request: Request) -> Response:
    """Record the KSeF number of an invoice uploaded to KSeF by hand."""
    from cabinet_web.pages.documents import _render_document

    cabinet = cabinet_of(request)
    actor = actor_of(request)
    doc_id = _doc_id(request)
    form = await read_form(request)
    try:
        await run(cabinet.ksef.record_number, actor, doc_id, form.get("ksef_number", ""))
    except ValidationError as exc:
        document = await run(cabinet.documents.get, actor, doc_id)
        return await _render_document(
            request,
            document,
            errors=list(exc.errors),
            status=422,
            ksef_number=form.get("ksef_number", ""),
        )
    except Conflict as exc:
        flash(request, request.state.gettext(exc.message))
        return redirect(f"/documents/{doc_id}")
    flash(request, request.state.gettext("KSeF number recorded."))
    return redirect(f"/documents/{doc_id}")


@page()
async def download_upo(request: Request) -> Response:
    """The UPO of an accepted invoice, as KSeF issued it."""
    from cabinet_web.pages.documents import content_disposition

    doc_id = _doc_id(request)
    content = await run(cabinet_of(request).ksef.upo, actor_of(request), doc_id)
    return Response(
        content,
        media_type="application/xml",
        headers={"Content-Disposition": content_disposition("attachment", f"UPO-{doc_id}.xml")},
    )


@page(roles=STAFF)
async def submissions_page(request: Request) -> Response:
    """KSeF: rejected and waiting — across the clients the staff member may see."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    wanted = [s for s in request.query_params.getlist("state") if s in set(KsefState)]
    offset_raw = request.query_params.get("offset", "0")
    offset = int(offset_raw) if offset_raw.isdigit() and len(offset_raw) < 7 else 0
    result = await run(
        cabinet.ksef.listing, actor, states=wanted or OPEN_STATES, limit=50, offset=offset
    )
    rows = [
        {
            "item": item,
            "type_label": (
                cabinet.document_types[item.doc_type].label.get(
                    request.state.language, item.doc_type
                )
                if item.doc_type in cabinet.document_types
                else item.doc_type
            ),
            "state_label": STATE_LABELS[item.submission.state],
        }
        for item in result.items
    ]
    states = [
        {
            "key": state.value,
            "label": STATE_LABELS[state],
            "checked": state.value in (wanted or [s.value for s in OPEN_STATES]),
        }
        for state in KsefState
    ]
    return render(
        request,
        "ksef_submissions.html",
        {"rows": rows, "page": result, "states": states, "offset": offset},
    )


ROUTES = [
    Route(
        "/documents/{doc_id:int}/ksef-number",
        record_number,
        methods=["POST"],
        name="document_ksef_number",
    ),
    Route("/documents/{doc_id:int}/upo", download_upo, methods=["GET"], name="document_upo"),
    Route(KSEF_LIST, submissions_page, methods=["GET"], name="ksef_submissions"),
]
