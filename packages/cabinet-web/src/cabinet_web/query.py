"""Reading list filters from a query string into the core's :class:`DocumentQuery`.

Pages and the API share this, so both accept the same parameters and reject the same garbage with
the same field messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from cabinet_core.audit import AuditFilter
from cabinet_core.entities import PaymentMethod, PaymentStatus
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.storage import DocumentQuery

from cabinet_web.limits import MAX_INT, whole_number

MAX_LIMIT = 200
ORDERS = ("-issue_date", "issue_date", "-number", "number", "-gross", "gross", "-id", "id")


def _int(params: Mapping[str, str], name: str, errors: list[FieldError]) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = whole_number(raw)
    except ValueError:
        errors.append(FieldError(field=name, code="integer", message=N_("Enter a whole number.")))
        return None
    if value < 0 or value > MAX_INT:
        errors.append(
            FieldError(field=name, code="range", message=N_("The number is out of range."))
        )
        return None
    return value


def _date(params: Mapping[str, str], name: str, errors: list[FieldError]) -> date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(
            FieldError(field=name, code="date", message=N_("Enter a date as YYYY-MM-DD."))
        )
        return None


def _several(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in params.get(name, "").split(",") if part.strip())


def document_query(
    params: Mapping[str, str],
    *,
    known_types: Mapping[str, object],
    page_size: int = 50,
    summary: bool = False,
) -> DocumentQuery:
    """A :class:`DocumentQuery` from ``client_id``, ``doc_type``, ``status``, ``search``,
    ``date_from``, ``date_to``, ``currency``, ``payment_status``, ``payment_method``,
    ``counterparty_id``, ``unpaid`` (``1``: not paid in full), ``due_before`` (unpaid and due
    before that day: overdue), ``order``, ``limit``, ``offset``.

    ``summary`` leaves the lines out (a list page shows only headers and totals). Raises
    :class:`ValidationError` naming every bad parameter.
    """
    errors: list[FieldError] = []
    client_id = _int(params, "client_id", errors)
    counterparty_id = _int(params, "counterparty_id", errors)
    doc_types = _several(params, "doc_type")
    for doc_type in doc_types:
        if doc_type not in known_types:
            errors.append(
                FieldError(field="doc_type", code="choice", message=N_("Unknown document type."))
            )
    payment_status: PaymentStatus | None = None
    if params.get("payment_status"):
        try:
            payment_status = PaymentStatus(params["payment_status"])
        except ValueError:
            errors.append(
                FieldError(
                    field="payment_status", code="choice", message=N_("Unknown payment status.")
                )
            )
    payment_method: PaymentMethod | None = None
    if params.get("payment_method"):
        try:
            payment_method = PaymentMethod(params["payment_method"])
        except ValueError:
            errors.append(
                FieldError(
                    field="payment_method", code="choice", message=N_("Unknown payment method.")
                )
            )
    order = params.get("order") or "-issue_date"
    if order not in ORDERS:
        errors.append(FieldError(field="order", code="choice", message=N_("Unknown sort order.")))
        order = "-issue_date"
    limit = _int(params, "limit", errors)
    if limit is None:
        limit = page_size
    elif not 1 <= limit <= MAX_LIMIT:  # limit=0 is refused, not read as "the default"
        errors.append(
            FieldError(
                field="limit",
                code="range",
                message=N_("Ask for between 1 and %(max)s items."),
                params={"max": MAX_LIMIT},
            )
        )
    offset = _int(params, "offset", errors) or 0
    date_from = _date(params, "date_from", errors)
    date_to = _date(params, "date_to", errors)
    due_before = _date(params, "due_before", errors)
    unpaid_raw = params.get("unpaid", "").strip()
    if unpaid_raw not in ("", "0", "1"):
        errors.append(FieldError(field="unpaid", code="choice", message=N_("Use 1 or 0.")))
    currency = params.get("currency", "").strip().upper() or None
    if currency is not None and (len(currency) != 3 or not currency.isalpha()):
        errors.append(
            FieldError(
                field="currency", code="currency", message=N_("Use a 3-letter currency code.")
            )
        )
    search = params.get("search", "").strip()[:200] or None
    if errors:
        raise ValidationError(errors)
    return DocumentQuery(
        client_ids=(client_id,) if client_id is not None else None,
        doc_types=doc_types,
        statuses=_several(params, "status"),
        search=search,
        date_from=date_from,
        date_to=date_to,
        currency=currency,
        payment_status=payment_status,
        payment_method=payment_method,
        unpaid=unpaid_raw == "1",
        due_before=due_before,
        counterparty_id=counterparty_id,
        order=order,
        limit=min(max(limit, 1), MAX_LIMIT),
        offset=offset,
        summary=summary,
    )


#: The longest text an audit search looks for.
MAX_AUDIT_TEXT = 200


def audit_filter(params: Mapping[str, str]) -> AuditFilter:
    """The audit log's filters from a query string (the page's form and the API share them):
    ``actor_id``, ``client_id``, ``entity``, ``entity_id``, ``action``, ``since``, ``until``
    (YYYY-MM-DD, the firm's days) and ``q`` (text)."""
    errors: list[FieldError] = []
    actor_id = _int(params, "actor_id", errors)
    client_id = _int(params, "client_id", errors)
    entity_id = _int(params, "entity_id", errors)
    since = _date(params, "since", errors)
    until = _date(params, "until", errors)
    text = params.get("q", "").strip()
    if len(text) > MAX_AUDIT_TEXT:
        errors.append(
            FieldError(
                field="q",
                code="too_long",
                message=N_("Use at most %(max)s characters."),
                params={"max": MAX_AUDIT_TEXT},
            )
        )
        text = ""
    if errors:
        raise ValidationError(errors)
    return AuditFilter(
        actor_id=actor_id,
        client_id=client_id,
        entity=params.get("entity", "").strip()[:50] or None,
        entity_id=entity_id,
        action=params.get("action", "").strip()[:100] or None,
        since=since,
        until=until,
        text=text,
    )
