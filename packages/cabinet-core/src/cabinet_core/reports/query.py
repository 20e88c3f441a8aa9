"""What a report asks for (:class:`ReportQuery`) and how it is read from a query string.

The web pages, the JSON API and the background export all read the same parameters with
:func:`report_query`, so they accept the same values and reject the same garbage with the same
field errors (a date that is not one, a currency the cabinet does not know, a client id that is
not a number).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date

import attrs

from cabinet_core.entities import PaymentMethod, PaymentStatus
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.money import SUPPORTED_CURRENCIES

__all__ = [
    "PARAMS",
    "Grouping",
    "Ledger",
    "ReportKind",
    "ReportQuery",
    "report_query",
]

#: Dates a report may cover (the cabinet's documents start long after 2000; year 1 or 9999
#: would only overflow a month's arithmetic somewhere).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
MAX_TEXT = 200
MAX_ID = 2**31 - 1


class ReportKind(enum.StrEnum):
    """``accounts``: documents issued or received and their amounts; ``payments``: how much
    of it is paid, unpaid and overdue."""

    ACCOUNTS = "accounts"
    PAYMENTS = "payments"


class Grouping(enum.StrEnum):
    """One table row per month, counterparty, product or service, VAT rate, client, or a plain
    list of the documents (``document``)."""

    MONTH = "month"
    COUNTERPARTY = "counterparty"
    PRODUCT = "product"
    VAT_RATE = "vat_rate"
    CLIENT = "client"
    DOCUMENT = "document"

    @property
    def by_line(self) -> bool:
        """Whether the rows come from document lines (a product's or a rate's share of a
        document) rather than whole documents."""
        return self in (Grouping.PRODUCT, Grouping.VAT_RATE)


class Ledger(enum.StrEnum):
    """Which documents a report counts, as each type declares (``DocumentType.ledger``)."""

    SALES = "sales"
    PURCHASES = "purchases"
    OTHER = "other"
    ALL = "all"


@attrs.frozen(kw_only=True)
class ReportQuery:
    """The filters, grouping and kind of one report.

    ``client_ids`` is what the user asked for; the service cuts it down to the clients the
    actor may see. ``product`` matches a line's name (case-insensitive substring),
    ``product_id`` a catalogue product. ``overdue`` keeps documents whose due date has passed
    and which are not paid. A document counts once it has its number (issued, or registered
    when received); ``drafts`` counts the unnumbered ones (drafts, drafts cancelled) too.
    """

    kind: ReportKind = ReportKind.ACCOUNTS
    group_by: Grouping = Grouping.MONTH
    ledger: Ledger = Ledger.SALES
    client_ids: tuple[int, ...] | None = None
    date_from: date | None = None
    date_to: date | None = None
    product: str | None = None
    product_id: int | None = None
    counterparty_id: int | None = None
    counterparty: str | None = None
    doc_types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    currency: str | None = None
    payment_method: PaymentMethod | None = None
    payment_status: PaymentStatus | None = None
    overdue: bool = False
    drafts: bool = False

    @property
    def by_line(self) -> bool:
        """Rows come from lines: a product or rate grouping, or a product filter (so that
        "sales of X per month" counts X's lines only, not the whole documents)."""
        return self.group_by.by_line or self.product is not None or self.product_id is not None

    def params(self) -> dict[str, str]:
        """The query as the parameters :func:`report_query` reads back (links, export jobs)."""
        values: dict[str, str] = {
            "kind": self.kind.value,
            "group_by": self.group_by.value,
            "ledger": self.ledger.value,
        }
        if self.client_ids is not None and len(self.client_ids) == 1:
            values["client_id"] = str(self.client_ids[0])
        optional = {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "product": self.product,
            "product_id": str(self.product_id) if self.product_id is not None else None,
            "counterparty_id": (
                str(self.counterparty_id) if self.counterparty_id is not None else None
            ),
            "counterparty": self.counterparty,
            "doc_type": ",".join(self.doc_types) or None,
            "status": ",".join(self.statuses) or None,
            "currency": self.currency,
            "payment_method": self.payment_method.value if self.payment_method else None,
            "payment_status": self.payment_status.value if self.payment_status else None,
            "overdue": "1" if self.overdue else None,
            "drafts": "1" if self.drafts else None,
        }
        values.update({key: value for key, value in optional.items() if value})
        return values


#: Every parameter :func:`report_query` reads.
PARAMS = (
    "kind",
    "group_by",
    "ledger",
    "client_id",
    "date_from",
    "date_to",
    "product",
    "product_id",
    "counterparty_id",
    "counterparty",
    "doc_type",
    "status",
    "currency",
    "payment_method",
    "payment_status",
    "overdue",
    "drafts",
)


def _choice(
    params: Mapping[str, str],
    name: str,
    kind: type[enum.StrEnum],
    errors: list[FieldError],
    message: str,
) -> enum.StrEnum | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        errors.append(FieldError(field=name, code="choice", message=message))
        return None


def _int(params: Mapping[str, str], name: str, errors: list[FieldError]) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_ID:
        errors.append(FieldError(field=name, code="integer", message=N_("Enter a whole number.")))
        return None
    return int(raw)


def _date(params: Mapping[str, str], name: str, errors: list[FieldError]) -> date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors.append(
            FieldError(field=name, code="date", message=N_("Enter a date as YYYY-MM-DD."))
        )
        return None
    if not FIRST_DAY <= value <= LAST_DAY:
        errors.append(
            FieldError(
                field=name,
                code="range",
                message=N_("Enter a date between %(first)s and %(last)s."),
                params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
            )
        )
        return None
    return value


def _text(params: Mapping[str, str], name: str) -> str | None:
    return params.get(name, "").strip()[:MAX_TEXT] or None


def _several(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in params.get(name, "").split(",") if part.strip())


def report_query(params: Mapping[str, str], *, known_types: Mapping[str, object]) -> ReportQuery:
    """A :class:`ReportQuery` from query-string ``params`` (see :data:`PARAMS`); raises
    :class:`ValidationError` with one field error per bad parameter."""
    errors: list[FieldError] = []
    kind = _choice(params, "kind", ReportKind, errors, N_("Unknown report."))
    group_by = _choice(params, "group_by", Grouping, errors, N_("Unknown grouping."))
    ledger = _choice(params, "ledger", Ledger, errors, N_("Unknown choice of documents."))
    method = _choice(params, "payment_method", PaymentMethod, errors, N_("Unknown payment method."))
    status = _choice(params, "payment_status", PaymentStatus, errors, N_("Unknown payment status."))
    client_id = _int(params, "client_id", errors)
    product_id = _int(params, "product_id", errors)
    counterparty_id = _int(params, "counterparty_id", errors)
    date_from = _date(params, "date_from", errors)
    date_to = _date(params, "date_to", errors)
    if date_from and date_to and date_from > date_to:
        errors.append(
            FieldError(
                field="date_to",
                code="order",
                message=N_("The end of the period is before its start."),
            )
        )
    doc_types = _several(params, "doc_type")
    if any(doc_type not in known_types for doc_type in doc_types):
        errors.append(
            FieldError(field="doc_type", code="choice", message=N_("Unknown document type."))
        )
    currency = params.get("currency", "").strip().upper() or None
    if currency is not None and currency not in SUPPORTED_CURRENCIES:
        errors.append(
            FieldError(
                field="currency",
                code="currency",
                message=N_("Unknown currency; use one of %(known)s."),
                params={"known": ", ".join(SUPPORTED_CURRENCIES)},
            )
        )
    flags = {name: params.get(name, "").strip().lower() for name in ("overdue", "drafts")}
    for name, flag in flags.items():
        if flag not in ("", "0", "1", "true", "false", "on"):
            errors.append(FieldError(field=name, code="choice", message=N_("Say yes or no.")))
    if errors:
        raise ValidationError(errors)
    return ReportQuery(
        kind=ReportKind(kind or ReportKind.ACCOUNTS),
        group_by=Grouping(group_by or Grouping.MONTH),
        ledger=Ledger(ledger or Ledger.SALES),
        client_ids=(client_id,) if client_id is not None else None,
        date_from=date_from,
        date_to=date_to,
        product=_text(params, "product"),
        product_id=product_id,
        counterparty_id=counterparty_id,
        counterparty=_text(params, "counterparty"),
        doc_types=doc_types,
        statuses=tuple(status_ for status_ in _several(params, "status"))[:20],
        currency=currency,
        payment_method=PaymentMethod(method) if method else None,
        payment_status=PaymentStatus(status) if status else None,
        overdue=flags["overdue"] in ("1", "true", "on"),
        drafts=flags["drafts"] in ("1", "true", "on"),
    )
