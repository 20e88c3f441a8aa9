"""The dedicated layouts of the built-in document types: what the PDF prints differently for
each (its customary title, the parties' names, the amount's label, the blocks it leaves out).

This table is the one place cabinet-pdf knows built-in types by key; a type not listed here (a
plugin's) gets :data:`GENERIC`: the type's own label as the title, seller and buyer, and the
blocks its declared fields and capabilities call for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING

import attrs

from cabinet_pdf import bill_layout

if TYPE_CHECKING:
    from reportlab.platypus import Flowable

    from cabinet_pdf.layout import Layout

#: A block a dedicated layout adds: the layout in, its flowables out.
Block = Callable[["Layout"], list["Flowable"]]


@attrs.frozen(kw_only=True)
class PrintedType:
    """How one document type is printed beyond what its declaration says.

    ``title`` is the printed title (``None``: the type's label); before ``legacy_title_until``
    a document is titled ``legacy_title`` (a law that changed the document's name). ``parties``
    are the label keys of the seller and buyer columns; ``amount_label`` names the amount of a
    document without lines. ``prints_status`` adds the workflow state under the number (a cost
    invoice on its way through approval); ``internal`` names only the company and prints no
    amount due or payment block (a cash report); ``not_an_invoice`` prints the disclaimer that
    keeps a proforma from passing for an invoice (poland.md §3.1). ``before_total`` and
    ``closing`` are the type's own blocks, printed before the amount due and at the end (a
    bill's calculation and signature lines, :mod:`cabinet_pdf.bill_layout`).
    """

    title: Mapping[str, str] | None = None
    legacy_title: Mapping[str, str] | None = None
    legacy_title_until: date | None = None
    parties: tuple[str, str] = ("seller", "buyer")
    amount_label: str = "amount"
    prints_status: bool = False
    internal: bool = False
    not_an_invoice: bool = False
    before_total: Block | None = None
    closing: Block | None = None
    #: Extra fields those blocks print, left out of the generic field rows.
    own_fields: frozenset[str] = frozenset()

    def title_on(self, issued: date) -> Mapping[str, str] | None:
        """The title a document issued on ``issued`` carries (``None``: the type's label)."""
        if (
            self.legacy_title is not None
            and self.legacy_title_until is not None
            and issued < self.legacy_title_until
        ):
            return self.legacy_title
        return self.title


#: Any type without a dedicated layout.
GENERIC = PrintedType()

#: The day art. 106k (the buyer's correction note) stopped applying.
NOTE_REPEALED_ON = date(2026, 2, 1)

PRINTED_TYPES: Mapping[str, PrintedType] = {
    "cost_invoice": PrintedType(
        title={"pl": "Faktura kosztowa", "en": "Cost invoice"}, prints_status=True
    ),
    # The customary title of a proforma (poland.md §3.1), capitals as printed.
    "proforma": PrintedType(
        title={"pl": "FAKTURA PROFORMA", "en": "PROFORMA INVOICE"}, not_an_invoice=True
    ),
    "vat_invoice": PrintedType(title={"pl": "Faktura VAT", "en": "VAT invoice"}),
    "correcting_invoice": PrintedType(
        title={"pl": "Faktura korygująca", "en": "Correcting invoice"}
    ),
    # Dated before 1 Feb 2026 it records a buyer's note (art. 106k, since repealed).
    "correction_request": PrintedType(
        title={"pl": "Wniosek o korektę faktury", "en": "Invoice correction request"},
        legacy_title={"pl": "Nota korygująca", "en": "Correction note"},
        legacy_title_until=NOTE_REPEALED_ON,
    ),
    # A contract or a bill is between the client and a contractor, not a sale.
    "bill": PrintedType(
        title={"pl": "Rachunek", "en": "Bill"},
        parties=("ordering_party", "contractor"),
        amount_label="total_due",
        before_total=bill_layout.BEFORE_TOTAL,
        closing=bill_layout.CLOSING,
        own_fields=frozenset(
            (
                *bill_layout.CONTRACT,
                *bill_layout.CONTRACTOR,
                *bill_layout.DECLARATIONS,
                *bill_layout.YEAR_TO_DATE,
            )
        ),
    ),
    "contract": PrintedType(
        title={"pl": "Umowa", "en": "Contract"},
        parties=("ordering_party", "contractor"),
        amount_label="remuneration",
    ),
    # An internal document: only the company keeping the cash desk is named.
    "cash_report": PrintedType(title={"pl": "Raport kasowy", "en": "Cash report"}, internal=True),
}


def printed_type(doc_type: str) -> PrintedType:
    """The dedicated layout of ``doc_type``, else :data:`GENERIC`."""
    return PRINTED_TYPES.get(doc_type, GENERIC)
