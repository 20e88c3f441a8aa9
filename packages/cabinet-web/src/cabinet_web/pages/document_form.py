"""The document form: create and edit any document type, with its lines, parties and template.

One form serves every type: the common fields, the type's own :class:`FieldSpec` fields
(``extra.<name>``), the counterparty (one of the client's own, or a new one typed in and saved
to the client's list only when the document itself is saved), and for line-bearing types the
lines editor with live totals. Without JavaScript the "add line", "remove" and "recalculate"
buttons submit the form and the server answers with the same form, values kept; with
``static/document_form.js`` the same happens in place through ``/api/v1/documents/preview-totals``.

Form field names follow the services' error paths (``lines.0.unit_price``, ``extra.reason``), so
a :class:`FieldError` lands next to its field; the counterparty's fields are ``party.*`` whichever
side (seller or buyer) the counterparty is on.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
from babel import Locale
from cabinet_core import access
from cabinet_core.app import Cabinet
from cabinet_core.doctypes import DocumentType
from cabinet_core.entities import (
    Actor,
    Address,
    Client,
    Counterparty,
    Document,
    DocumentLine,
    DocumentTotals,
    ExchangeRate,
    Party,
    PartyKind,
    PaymentMethod,
    PaymentStatus,
    Product,
    Role,
)
from cabinet_core.errors import (
    N_,
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from cabinet_core.fx import RateUnavailable
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.services.parties import check_counterparty
from cabinet_core.storage import DocumentQuery
from cabinet_core.vat_statement.markers import GTU_CODES, SALES_PROCEDURES, normalise_gtu
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web import numbers
from cabinet_web.i18n import babel_locale
from cabinet_web.limits import parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    redirect,
    render,
    run,
)
from cabinet_web.pages._forms import (
    LANGUAGE_CHOICES,
    PARTY_KINDS,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    parse_decimal,
    translated,
    vat_choices,
)

CURRENCIES = ("PLN", "EUR", "USD")
PARTY_FIELDS = ("name", "nip", "vat_eu", "email")
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "country")
LINE_TEXT_FIELDS = (
    "name",
    "quantity",
    "unit",
    "unit_price",
    "vat_rate",
    "product_id",
    "gtu",
    "procedures",
)
LINE_FLAGS = ("annex15", "before", "save_product", "non_deductible")
#: Transitions the form's "save and submit" button makes right after saving.
SUBMIT_TRANSITIONS = ("submit", "resubmit")
MAX_LINES = 200
CATALOGUE_SIZE = 500
_LINE_KEY = re.compile(r"lines\.(\d{1,4})\.(\w+)")
_BLANK_LINE = {"name": "", "quantity": "1", "unit": "szt.", "unit_price": "", "vat_rate": "23"}


# -- reading the form ----------------------------------------------------------------------------
def _error(field: str, code: str, message: str) -> FieldError:
    return FieldError(field=field, code=code, message=message)


def counterparty_side(document_type: DocumentType) -> str:
    """``seller`` when the client is the buyer (a cost invoice), else ``buyer``."""
    return "seller" if getattr(document_type, "client_is_buyer", False) else "buyer"


def has_party(document_type: DocumentType) -> bool:
    """Whether the form shows the counterparty (every type with lines or a required party)."""
    return bool(
        document_type.has_lines
        or getattr(document_type, "buyer_required", False)
        or getattr(document_type, "seller_required", False)
    )


def form_lines(form: Mapping[str, str]) -> list[dict[str, str]]:
    """The submitted lines in index order, renumbered from 0 (blank rows dropped)."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _LINE_KEY.fullmatch(key)
        if match and match.group(2) in (*LINE_TEXT_FIELDS, *LINE_FLAGS):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    lines = []
    for index in sorted(rows):
        row = rows[index]
        if not any(row.get(name, "").strip() for name in ("name", "unit_price", "product_id")):
            continue
        lines.append({name: row.get(name, "") for name in (*LINE_TEXT_FIELDS, *LINE_FLAGS)})
    return lines[:MAX_LINES]


@attrs.frozen(kw_only=True)
class ParsedForm:
    """What the form says: the document (None when a field could not be read), the new
    counterparty and the lines to save to the catalogue with it (indexes into
    ``document.lines``), and every problem found on the way."""

    document: Document | None
    counterparty: Counterparty | None = None
    catalogue_lines: tuple[int, ...] = ()
    errors: tuple[FieldError, ...] = ()


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "on", "yes")


def parse_form(
    form: Mapping[str, str],
    lines: Sequence[Mapping[str, str]],
    *,
    document_type: DocumentType,
    client_id: int,
    current: Document | None,
    catalogue: Mapping[int, Product],
) -> ParsedForm:
    """Read the form into a :class:`Document`; the service validates the rest when saving."""
    errors: list[FieldError] = []

    def day(name: str, *, required: bool = False) -> date | None:
        raw = form.get(name, "").strip()
        if not raw:
            if required:
                errors.append(_error(name, "required", N_("This field is required.")))
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors.append(_error(name, "date", N_("Enter a date as YYYY-MM-DD.")))
            return None

    issue_date = day("issue_date", required=True)
    sale_date = day("sale_date")
    receipt_date = day("receipt_date")
    due_date = day("due_date")
    # Types without lines show no currency or payment method: an edit keeps the stored ones.
    currency = form.get("currency", current.currency if current else "PLN").strip().upper()
    if currency not in SUPPORTED_CURRENCIES:
        errors.append(
            _error("currency", "unsupported", N_("Documents can be issued in PLN, EUR or USD."))
        )
    language = form.get("language", "pl")
    if language not in {code for code, _ in LANGUAGE_CHOICES}:
        errors.append(_error("language", "unsupported", N_("Choose Polish, English or both.")))
    stored_method = current.payment_method if current else PaymentMethod.TRANSFER
    try:
        payment_method = PaymentMethod(form.get("payment_method") or stored_method)
    except ValueError:
        errors.append(_error("payment_method", "choice", N_("Choose one of the options.")))
        payment_method = stored_method
    # A client states whether it paid an invoice it received; a sales document's payment
    # status is the services' (unpaid until marked paid), so the form neither shows nor sends it.
    payment_status = current.payment_status if current else PaymentStatus.UNPAID
    if _client_is_buyer(document_type) and document_type.has_lines:
        try:
            payment_status = PaymentStatus(form.get("payment_status") or payment_status)
        except ValueError:
            errors.append(_error("payment_status", "choice", N_("Choose one of the options.")))

    extra: dict[str, Any] = {}
    if current is not None:
        # Structured data a form cannot show (a cash report's entries) is kept as it was.
        for key in getattr(document_type, "structured_extra", ()):
            if key in current.extra:
                extra[key] = current.extra[key]
    for spec in document_type.fields:
        name = f"extra.{spec.name}"
        if spec.kind == "bool":
            extra[spec.name] = _flag(form.get(name))
        elif form.get(name, "").strip():
            raw = form[name].strip()
            if spec.kind in ("decimal", "money"):
                # "5 000,00" as typed; anything unreadable goes on for the type to report.
                with contextlib.suppress(ValueError):
                    raw = str(parse_decimal(raw))
            extra[spec.name] = raw

    # The counterparty: one of the client's own, a new one, or only typed on this document.
    choice = form.get("counterparty_id", "").strip()
    counterparty_id: int | None = None
    party: Party | None = None
    new_counterparty: Counterparty | None = None
    if has_party(document_type):
        if choice and choice != "new":
            try:
                counterparty_id = parse_id(choice)
            except NotFound:
                errors.append(
                    _error("counterparty_id", "unknown", N_("Choose one of your counterparties."))
                )
        else:
            party = _party_of(form, errors)
            if choice == "new" and party is not None:
                try:
                    new_counterparty = check_counterparty(
                        Counterparty(
                            client_id=client_id,
                            kind=party.kind,
                            name=party.name,
                            nip=party.nip,
                            vat_eu=party.vat_eu,
                            address=party.address,
                            email=party.email,
                        )
                    )
                except ValidationError as exc:
                    errors.extend(attrs.evolve(e, field=f"party.{e.field}") for e in exc.errors)

    document_lines: list[DocumentLine] = []
    catalogue_lines: list[int] = []
    if document_type.has_lines:
        for index, row in enumerate(lines):
            line = _line_of(row, index, catalogue, errors, corrects=_corrects(document_type))
            if line is None:
                continue
            if _flag(row.get("save_product")) and line.product_id is None:
                # Said here with the other problems of the form; the service checks it again.
                if not line.unit.strip():
                    errors.append(
                        _error(f"lines.{index}.unit", "required", N_("This field is required."))
                    )
                catalogue_lines.append(len(document_lines))
            document_lines.append(line)

    if issue_date is None or errors:
        return ParsedForm(document=None, errors=tuple(errors))
    side = counterparty_side(document_type)
    # The client's own party as it stands on the document (the service fills it when new).
    own_party: Party | None = None
    if current is not None:
        own_party = current.buyer if side == "seller" else current.seller
    template = form.get("template", "").strip() or None
    document = Document(
        id=current.id if current else None,
        client_id=client_id,
        doc_type=document_type.key,
        currency=currency,
        language=language,
        issue_date=issue_date,
        sale_date=sale_date,
        receipt_date=receipt_date,
        due_date=due_date,
        payment_method=payment_method,
        payment_status=payment_status,
        counterparty_id=counterparty_id,
        lines=tuple(document_lines),
        template=template,
        notes=form.get("notes", "").strip(),
        extra=extra,
        related_id=current.related_id if current else _related_id(form, errors),
        version=_version(form, current),
        seller=party if side == "seller" else own_party,
        buyer=party if side == "buyer" else own_party,
        bank_account=current.bank_account if current else None,
    )
    return ParsedForm(
        document=document,
        counterparty=new_counterparty,
        catalogue_lines=tuple(catalogue_lines),
        errors=(),
    )


def _related_id(form: Mapping[str, str], errors: list[FieldError]) -> int | None:
    # A new document made from another (a bill from a contract) names it; the service checks
    # that it is the client's own.
    raw = form.get("related_id", "").strip()
    if not raw:
        return None
    try:
        return parse_id(raw)
    except NotFound:
        errors.append(_error("related_id", "unknown", N_("Choose one of your documents.")))
        return None


def _version(form: Mapping[str, str], base: Document | None) -> int:
    # The version the form was opened at: saving over a newer one is a conflict, not a loss.
    raw = form.get("version", "").strip()
    if raw.isdigit() and len(raw) < 10:
        return int(raw)
    return base.version if base else 1


def _client_is_buyer(document_type: DocumentType) -> bool:
    return bool(getattr(document_type, "client_is_buyer", False))


def _corrects(document_type: DocumentType) -> bool:
    return document_type.corrects


def _party_of(form: Mapping[str, str], errors: list[FieldError]) -> Party | None:
    values = {name: form.get(f"party.{name}", "").strip() for name in PARTY_FIELDS}
    address = Address(
        **{name: form.get(f"party.address.{name}", "").strip() for name in ADDRESS_FIELDS}
    )
    if not address.country:
        address = attrs.evolve(address, country="PL")
    if not values["name"] and not values["nip"] and not address.city:
        return None
    try:
        kind = PartyKind(form.get("party.kind") or PartyKind.COMPANY)
    except ValueError:
        errors.append(_error("party.kind", "choice", N_("Choose one of the options.")))
        kind = PartyKind.COMPANY
    return Party(
        kind=kind,
        name=values["name"],
        nip=values["nip"] or None,
        vat_eu=values["vat_eu"] or None,
        address=address,
        email=values["email"],
    )


def _line_of(
    row: Mapping[str, str],
    index: int,
    catalogue: Mapping[int, Product],
    errors: list[FieldError],
    *,
    corrects: bool,
) -> DocumentLine | None:
    prefix = f"lines.{index}"
    product: Product | None = None
    product_id: int | None = None
    if row.get("product_id", "").strip():
        try:
            product_id = parse_id(row["product_id"])
        except NotFound:
            product_id = None
        product = catalogue.get(product_id) if product_id is not None else None
        if product is None:
            errors.append(
                _error(f"{prefix}.product_id", "unknown", N_("Choose one of your products."))
            )
            return None
    name = row.get("name", "").strip() or (product.name if product else "")
    amounts: dict[str, Decimal] = {}
    for field, fallback in (
        ("quantity", Decimal("1")),
        ("unit_price", product.unit_price if product else None),
    ):
        raw = row.get(field, "").strip()
        if not raw and fallback is not None:
            amounts[field] = fallback
            continue
        if not raw:
            errors.append(_error(f"{prefix}.{field}", "required", N_("This field is required.")))
            continue
        try:
            amounts[field] = parse_decimal(raw)
        except ValueError:
            errors.append(_error(f"{prefix}.{field}", "number", N_("Enter a number.")))
    if len(amounts) < 2:
        return None
    return DocumentLine(
        name=name,
        quantity=amounts["quantity"],
        unit=row.get("unit", "").strip() or (product.unit if product else ""),
        unit_price=amounts["unit_price"],
        vat_rate=row.get("vat_rate", "").strip() or (product.vat_rate if product else "23"),
        product_id=product_id,
        gtu=_gtu(row.get("gtu", "")) or (product.gtu if product else None),
        procedures=_procedures(row.get("procedures", ""))
        or (product.procedures if product else ()),
        non_deductible=_flag(row.get("non_deductible")),
        before=corrects and _flag(row.get("before")),
        annex15=_flag(row.get("annex15")),
    )


def _gtu(raw: str) -> str | None:
    """``GTU_12`` from ``12``, ``gtu_12`` or ``GTU_12``; anything else as typed (upper case), for
    the document's check to refuse at the field."""
    text = raw.strip()
    if not text:
        return None
    return normalise_gtu(text) or text.upper()


def _procedures(raw: str) -> tuple[str, ...]:
    """Procedure markers typed or chosen (``TP MR_UZ``, commas allowed), upper case, no repeats."""
    return tuple(dict.fromkeys(part.upper() for part in raw.replace(",", " ").split()))


# -- the form's values from a document ------------------------------------------------------------
def values_of(document: Document, document_type: DocumentType) -> dict[str, str]:
    """The form's flat values for a stored document."""
    values: dict[str, str] = {
        "issue_date": document.issue_date.isoformat(),
        "sale_date": document.sale_date.isoformat() if document.sale_date else "",
        "receipt_date": document.receipt_date.isoformat() if document.receipt_date else "",
        "due_date": document.due_date.isoformat() if document.due_date else "",
        "currency": document.currency,
        "language": document.language,
        "payment_method": document.payment_method.value,
        "payment_status": document.payment_status.value,
        "template": document.template or "",
        "notes": document.notes,
        "version": str(document.version),
        "counterparty_id": str(document.counterparty_id) if document.counterparty_id else "",
    }
    for spec in document_type.fields:
        raw = document.extra.get(spec.name)
        if spec.kind == "bool":
            values[f"extra.{spec.name}"] = "true" if raw in (True, "true", "1", "on") else ""
        elif raw is not None:
            values[f"extra.{spec.name}"] = str(raw)
    party: Party | None = getattr(document, counterparty_side(document_type))
    if party is not None:
        values.update(_party_values(party))
    return values


def _party_values(party: Party) -> dict[str, str]:
    values = {"party.kind": party.kind.value}
    values.update({f"party.{name}": getattr(party, name) or "" for name in PARTY_FIELDS})
    values.update(
        {f"party.address.{name}": getattr(party.address, name) or "" for name in ADDRESS_FIELDS}
    )
    return values


def lines_of(document: Document, locale: Locale | None = None) -> list[dict[str, str]]:
    """The form's rows for a stored document's lines: numbers to their significant decimals
    in ``locale``'s convention (``450,00``, not the stored ``450.000000``)."""
    locale = locale or babel_locale("pl")
    return [
        {
            "name": line.name,
            "quantity": numbers.quantity_input(line.quantity, locale),
            "unit": line.unit,
            "unit_price": numbers.price_input(line.unit_price, locale),
            "vat_rate": line.vat_rate,
            "product_id": str(line.product_id) if line.product_id else "",
            "gtu": line.gtu or "",
            "procedures": " ".join(line.procedures),
            "non_deductible": "true" if line.non_deductible else "",
            "annex15": "true" if line.annex15 else "",
            "before": "true" if line.before else "",
            "save_product": "",
        }
        for line in document.lines
    ]


def new_values(client: Client, document_type: DocumentType, today: date) -> dict[str, str]:
    """A new document's starting values: today, PLN, the client's language and template."""
    values = {
        "issue_date": today.isoformat(),
        "sale_date": today.isoformat() if document_type.has_lines else "",
        "currency": "PLN",
        "language": client.language if client.language in ("pl", "en", "pl+en") else "pl",
        "payment_method": PaymentMethod.TRANSFER.value,
        "payment_status": PaymentStatus.UNPAID.value,
        "template": client.default_template or "",
        # A party typed into a new document is kept for next time unless the user says not.
        "counterparty_id": "new",
    }
    for spec in document_type.fields:
        if spec.default is not None:
            values[f"extra.{spec.name}"] = (
                ("true" if spec.default else "") if spec.kind == "bool" else str(spec.default)
            )
    return values


# -- rendering -------------------------------------------------------------------------------------
def templates_for(cabinet: Cabinet, client: Client, doc_type: str) -> list[tuple[str, str]]:
    """The templates the client may pick for this type (all registered ones if none assigned)."""
    return [
        (key, template.name)
        for key, template in sorted(cabinet.templates.items())
        if doc_type in template.document_types
        and (not client.allowed_templates or key in client.allowed_templates)
    ]


def _today(cabinet: Cabinet) -> date:
    return cabinet.documents.now().date()


async def _render_form(
    request: Request,
    *,
    document_type: DocumentType,
    client: Client,
    values: dict[str, str],
    lines: list[dict[str, str]],
    errors: Sequence[FieldError] = (),
    current: Document | None = None,
    totals: DocumentTotals | None = None,
    exchange_rate: ExchangeRate | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    assert client.id is not None
    counterparties = await run(cabinet.counterparties.list, actor, client.id, limit=CATALOGUE_SIZE)
    products = await run(cabinet.products.list, actor, client.id, limit=CATALOGUE_SIZE)
    by_field = errors_by_field(request, errors)
    known = _shown_fields(document_type, lines)
    general = [message for field, message in by_field.items() if field not in known]
    try:
        on = date.fromisoformat(values.get("issue_date", ""))
    except ValueError:
        on = _today(cabinet)
    if document_type.has_lines and not lines:
        lines = [dict(_BLANK_LINE)]
    action = f"/documents/{current.id}/edit" if current else "/documents/new"
    # "Save and submit" when the state the document is (or starts) in allows submitting.
    workflow = document_type.workflow
    status_now = current.status if current is not None else workflow.initial
    submit_transitions = [
        t.key for t in workflow.available(status_now, actor.role) if t.key in SUBMIT_TRANSITIONS
    ]
    context: dict[str, Any] = {
        "choose_client": False,
        "document_type": document_type,
        "doc_type": document_type.key,
        "client": client,
        "current": current,
        "values": values,
        "lines": lines,
        "errors": by_field,
        "general_errors": general,
        "counterparties": counterparties.items,
        "products": products.items,
        "templates": templates_for(cabinet, client, document_type.key),
        "vat_choices": await run(
            vat_choices,
            cabinet,
            on,
            request.state.language,
            [str(line.get("vat_rate", "")) for line in lines],
        ),
        "currencies": [(code, code) for code in CURRENCIES],
        "language_choices": translated(request, LANGUAGE_CHOICES),
        "payment_methods": translated(request, PAYMENT_METHODS),
        "payment_statuses": translated(request, PAYMENT_STATUSES),
        "party_kinds": translated(request, PARTY_KINDS),
        "extra_choices": {
            spec.name: [
                (value, labels.get(request.state.language, value))
                for value, labels in spec.choices.items()
            ]
            for spec in document_type.fields
            if spec.kind == "choice"
        },
        "party_side": counterparty_side(document_type),
        "has_party": has_party(document_type),
        "corrects": _corrects(document_type),
        "vat_side": document_type.vat_register,
        "gtu_codes": GTU_CODES,
        "sales_procedures": SALES_PROCEDURES,
        "is_cost_invoice": _client_is_buyer(document_type) and document_type.has_lines,
        "totals": totals,
        "exchange_rate": exchange_rate,
        "submit_transitions": submit_transitions,
        "action": action,
        "staff": actor.role is not Role.CLIENT,
        "sources": await _sources(request, document_type, client, current, values),
    }
    return render(request, "document_form.html", context, status_code=status)


async def _sources(
    request: Request,
    document_type: DocumentType,
    client: Client,
    current: Document | None,
    values: Mapping[str, str],
) -> list[Document]:
    """The client's numbered documents a new one may be made from (a bill's contracts), offered
    above an empty form to fill it in from one."""
    made_from = document_type.made_from
    if current is not None or not made_from or values.get("related_id"):
        return []
    query = DocumentQuery(
        client_ids=(client.id,) if client.id is not None else None,
        doc_types=made_from,
        summary=True,
        limit=100,
    )
    found = await run(cabinet_of(request).documents.list, actor_of(request), query)
    return [document for document in found.items if document.number]


def _shown_fields(document_type: DocumentType, lines: Sequence[Mapping[str, str]]) -> set[str]:
    """Every field name the form shows an error next to (others go to the list on top)."""
    shown = {
        "issue_date",
        "sale_date",
        "receipt_date",
        "due_date",
        "currency",
        "language",
        "payment_method",
        "payment_status",
        "template",
        "notes",
        "counterparty_id",
        "party.kind",
        "lines",
    }
    shown |= {f"party.{name}" for name in PARTY_FIELDS}
    shown |= {f"party.address.{name}" for name in ADDRESS_FIELDS}
    shown |= {f"extra.{spec.name}" for spec in document_type.fields}
    for index in range(max(len(lines), 1)):
        shown |= {f"lines.{index}.{name}" for name in LINE_TEXT_FIELDS}
    return shown


def _service_errors(errors: Sequence[FieldError], document_type: DocumentType) -> list[FieldError]:
    """The service's paths as the form's: the counterparty's ``seller.nip`` is ``party.nip``."""
    side = counterparty_side(document_type)
    result = []
    for error in errors:
        field = error.field
        if field == side or field.startswith(side + "."):
            field = "party" + field[len(side) :]
            if field == "party":
                field = "party.name"
        result.append(attrs.evolve(error, field=field))
    return result


# -- the endpoints ---------------------------------------------------------------------------------
async def _form_data(request: Request) -> dict[str, str]:
    form: FormData = await request.form()
    try:
        return {key: value for key, value in form.items() if isinstance(value, str)}
    finally:
        await form.close()


def _client_id_for_new(request: Request, source: Mapping[str, str]) -> int | None:
    user = request.state.user
    if user.client_id is not None:
        return int(user.client_id)
    raw = source.get("client_id", "").strip()
    if not raw:
        return None
    return parse_id(raw)


def _document_type(cabinet: Cabinet, key: str) -> DocumentType:
    try:
        return cabinet.document_type(key)
    except NotFound:
        raise NotFound(N_("Unknown document type.")) from None


@page()
async def new_document(request: Request) -> Response:
    """The empty form for ``?type=…``; staff first choose whose document it is."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    offered = [key for key, known in cabinet.document_types.items() if known.offer_new]
    default_type = offered[0] if offered else next(iter(cabinet.document_types), "")
    document_type = _document_type(cabinet, request.query_params.get("type", default_type))
    if getattr(document_type, "from_template", False):
        # A contract is made from a template, on its own form (never a template-less one here).
        return redirect("/contracts/new")
    if request.query_params.get("from", "").strip():
        return await _new_from(request, document_type, request.query_params["from"])
    client_id = _client_id_for_new(request, request.query_params)
    if client_id is None:
        clients = [
            client
            for client in await run(cabinet.clients.list, actor)
            if access.can_edit_client_data(actor, client)
        ]
        if not clients:
            raise PermissionDenied()
        context = {"choose_client": True, "document_type": document_type, "clients": clients}
        return render(request, "document_form.html", context)
    client = await run(cabinet.clients.get, actor, client_id)
    values = new_values(client, document_type, _today(cabinet))
    values["notes"] = await run(cabinet.document_notes.for_type, document_type.key)
    return await _render_form(
        request, document_type=document_type, client=client, values=values, lines=[]
    )


async def _new_from(request: Request, document_type: DocumentType, raw_id: str) -> Response:
    """The form of a document made from another one of the client's (``?from=``): a bill
    prefilled from its contract, with the contract's contractor."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    source = await run(cabinet.documents.get, actor, parse_id(raw_id))
    if source.doc_type not in document_type.made_from:
        raise NotFound(N_("Not found"))
    client = await run(cabinet.clients.get, actor, source.client_id)
    if not access.can_edit_client_data(actor, client):
        raise PermissionDenied()
    values = new_values(client, document_type, _today(cabinet))
    values["notes"] = await run(cabinet.document_notes.for_type, document_type.key)
    for name, value in document_type.taken_from(source).items():
        flag = ("true" if value else "") if isinstance(value, bool) else None
        values[f"extra.{name}"] = str(value) if flag is None else flag
    side = counterparty_side(document_type)
    party: Party | None = getattr(source, side)
    if source.counterparty_id is not None:
        values["counterparty_id"] = str(source.counterparty_id)
    elif party is not None:
        values["counterparty_id"] = ""
        values.update(_party_values(party))
    values["related_id"] = str(source.id)
    return await _render_form(
        request, document_type=document_type, client=client, values=values, lines=[]
    )


@page()
async def create_document(request: Request) -> Response:
    """Save a new document (or recalculate / add a line and show the form again)."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    form = await _form_data(request)
    document_type = _document_type(cabinet, form.get("doc_type", ""))
    client_id = _client_id_for_new(request, form)
    if client_id is None:
        return redirect(f"/documents/new?type={document_type.key}")
    client = await run(cabinet.clients.get, actor, client_id)
    return await _submit(request, form, document_type=document_type, client=client, current=None)


@page()
async def edit_document(request: Request) -> Response:
    """The form with a stored document (only while its state allows changes)."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    document = await run(cabinet.documents.get, actor, parse_id(request.path_params["doc_id"]))
    document_type = cabinet.document_type(document.doc_type)
    if not document_type.workflow.state(document.status).editable:
        flash(request, request.state.gettext("This document can no longer be changed."))
        return redirect(f"/documents/{document.id}")
    client = await run(cabinet.clients.get, actor, document.client_id)
    return await _render_form(
        request,
        document_type=document_type,
        client=client,
        values=values_of(document, document_type),
        lines=lines_of(document, babel_locale(request.state.language)),
        current=document,
        totals=document.totals,
        exchange_rate=document.exchange_rate,
    )


@page()
async def update_document(request: Request) -> Response:
    """Save changes to a stored document."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    document = await run(cabinet.documents.get, actor, parse_id(request.path_params["doc_id"]))
    document_type = cabinet.document_type(document.doc_type)
    client = await run(cabinet.clients.get, actor, document.client_id)
    form = await _form_data(request)
    return await _submit(
        request, form, document_type=document_type, client=client, current=document
    )


async def _submit(
    request: Request,
    form: dict[str, str],
    *,
    document_type: DocumentType,
    client: Client,
    current: Document | None,
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    assert client.id is not None
    lines = form_lines(form)
    action = form.get("action", "save")
    if action.startswith("remove:"):
        index = action.partition(":")[2]
        if index.isdigit() and int(index) < len(lines):
            del lines[int(index)]
    saving = action in ("save", "submit")
    values = {key: value for key, value in form.items() if not key.startswith("lines.")}
    catalogue_page = await run(cabinet.products.list, actor, client.id, limit=CATALOGUE_SIZE)
    catalogue = {product.id: product for product in catalogue_page.items if product.id}
    parsed = parse_form(
        form,
        lines,
        document_type=document_type,
        client_id=client.id,
        current=current,
        catalogue=catalogue,
    )
    locale = babel_locale(request.state.language)
    shown_lines = [_filled(row, catalogue, locale) for row in lines]
    if action == "add_line":
        shown_lines.append(dict(_BLANK_LINE))
    rerender: dict[str, Any] = {
        "document_type": document_type,
        "client": client,
        "values": values,
        "lines": shown_lines,
        "current": current,
    }
    if parsed.document is None:
        # Recalculating shows the problems too, but only saving is refused (422).
        status = 422 if saving else 200
        return await _render_form(request, **rerender, errors=parsed.errors, status=status)
    document = parsed.document
    if not saving:
        totals, rate = await _preview(cabinet, document)
        return await _render_form(request, **rerender, totals=totals, exchange_rate=rate)
    submit = _submit_transition(document_type, actor, current) if action == "submit" else None
    try:
        saved = await run(
            cabinet.documents.save,
            actor,
            document,
            new_counterparty=parsed.counterparty,
            catalogue_lines=parsed.catalogue_lines,
            transition=submit,
        )
    except ValidationError as exc:
        totals, rate = await _preview(cabinet, document)
        return await _render_form(
            request,
            **rerender,
            errors=_service_errors(exc.errors, document_type),
            totals=totals,
            exchange_rate=rate,
            status=422,
        )
    except (Conflict, RateUnavailable) as exc:
        # A stale version or the NBP out of reach: say so above the form, keep what was typed.
        message = FieldError(field="form", code="conflict", message=exc.message)
        return await _render_form(request, **rerender, errors=[message], status=exc.status)
    gettext = request.state.gettext
    flash(request, gettext("The document is saved."))
    if saved.transition is not None:
        flash(request, gettext("The document is submitted to the accountant."))
    return redirect(f"/documents/{saved.document.id}")


def _submit_transition(
    document_type: DocumentType, actor: Actor, current: Document | None
) -> str | None:
    """The "save and submit" move open from the state the document is (or starts) in."""
    workflow = document_type.workflow
    status = current.status if current is not None else workflow.initial
    available = workflow.available(status, actor.role)
    return next((t.key for t in available if t.key in SUBMIT_TRANSITIONS), None)


def _filled(
    row: dict[str, str], catalogue: Mapping[int, Product], locale: Locale
) -> dict[str, str]:
    """A row picked from the catalogue with its blanks filled from the product."""
    raw = row.get("product_id", "").strip()
    product = catalogue.get(int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if product is None:
        return row
    filled = dict(row)
    for name, value in (
        ("name", product.name),
        ("unit", product.unit),
        ("unit_price", numbers.price_input(product.unit_price, locale)),
        ("vat_rate", product.vat_rate),
        ("gtu", product.gtu or ""),
        ("procedures", " ".join(product.procedures)),
    ):
        if not filled.get(name, "").strip():
            filled[name] = value
    return filled


async def _preview(
    cabinet: Cabinet, document: Document
) -> tuple[DocumentTotals | None, ExchangeRate | None]:
    try:
        preview = await run(cabinet.documents.preview, document)
    except ValidationError:
        # An unknown VAT rate and the like: the field errors say it; there are no totals yet.
        return None, None
    return preview.totals, preview.exchange_rate


@page()
async def delete_document(request: Request) -> Response:
    """Delete a draft; anything else stays for the record."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    doc_id = parse_id(request.path_params["doc_id"])
    try:
        await run(cabinet.documents.delete, actor, doc_id)
    except Conflict as exc:
        flash(request, request.state.gettext(exc.message))
        return redirect(f"/documents/{doc_id}")
    flash(request, request.state.gettext("The draft is deleted."))
    return redirect("/documents")


ROUTES = [
    Route("/documents/new", new_document, methods=["GET"], name="document_new"),
    Route("/documents/new", create_document, methods=["POST"], name="document_create"),
    Route("/documents/{doc_id:int}/edit", edit_document, methods=["GET"], name="document_edit"),
    Route(
        "/documents/{doc_id:int}/edit", update_document, methods=["POST"], name="document_update"
    ),
    Route(
        "/documents/{doc_id:int}/delete",
        delete_document,
        methods=["POST"],
        name="document_delete",
    ),
]
