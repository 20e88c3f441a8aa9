"""What several pages' forms share: how a typed number is read, the choice lists (payment methods
and statuses, document languages, party kinds, the VAT rates on offer) with their labels in the
page's language, and the clients a staff member may write for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from cabinet_core import access
from cabinet_core.app import Cabinet
from cabinet_core.entities import PartyKind, PaymentMethod, PaymentStatus
from cabinet_core.errors import N_
from starlette.requests import Request

from cabinet_web.pages._common import actor_of, cabinet_of

LANGUAGE_CHOICES = (
    ("pl", N_("Polish")),
    ("en", N_("English")),
    ("pl+en", N_("Polish and English")),
)
PAYMENT_METHODS = (
    (PaymentMethod.TRANSFER, N_("Bank transfer")),
    (PaymentMethod.CASH, N_("Cash")),
    (PaymentMethod.CARD, N_("Card")),
    (PaymentMethod.MOBILE, N_("Mobile payment")),
    (PaymentMethod.CREDIT, N_("Credit")),
    (PaymentMethod.VOUCHER, N_("Voucher")),
    (PaymentMethod.CHEQUE, N_("Cheque")),
    (PaymentMethod.OTHER, N_("Other")),
)
PAYMENT_STATUSES = (
    (PaymentStatus.UNPAID, N_("Unpaid")),
    (PaymentStatus.PARTIALLY_PAID, N_("Partially paid")),
    (PaymentStatus.PAID, N_("Paid")),
)
PARTY_KINDS = ((PartyKind.COMPANY, N_("Company")), (PartyKind.PERSON, N_("Person")))


def parse_decimal(raw: str) -> Decimal:
    """A number as people type it: ``1 234,56`` or ``1234.56`` (never through a float)."""
    text = raw.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not number.is_finite():
        raise ValueError(raw)
    return number


def translated(request: Request, pairs: Sequence[tuple[Any, str]]) -> list[tuple[str, str]]:
    """A choice list's ``(value, label)`` pairs with each label in the page's language."""
    gettext = request.state.gettext
    return [(str(value), gettext(label)) for value, label in pairs]


def vat_choices(
    cabinet: Cabinet, on: date, language: str, keep: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """The VAT rate codes the forms offer on ``on`` (the admins' choice, and ``keep``: the
    codes the lines already have) with their labels (23%, zwolnione …)."""
    rates = cabinet.vat_rates.offered(on, keep)
    return [(rate.code, rate.label.get(language, rate.code)) for rate in rates]


def writable_clients(request: Request) -> list[tuple[str, str]]:
    """The clients a staff member may add data for, as a form's choices (none for a client's
    user, who always writes for its own client)."""
    actor = actor_of(request)
    if actor.client_id is not None:
        return []
    clients = cabinet_of(request).clients.list(actor)
    return [(str(c.id), c.name) for c in clients if access.can_edit_client_data(actor, c)]
