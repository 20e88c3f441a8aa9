"""The markers a VAT register row carries into JPK_V7M(3): GTU codes, procedure markers, the
document kind and the KSeF marker (poland.md §4; rozporządzenie MF z 15 X 2019, § 10-11).

The per-line GTU comes from the document's lines (and so from the catalogue product the line was
made from); the accountant adds document-level markers on the VAT statement
(:meth:`cabinet_core.services.VatStatementService.mark`).
"""

from __future__ import annotations

from collections.abc import Iterable

from cabinet_core.errors import N_, FieldError

__all__ = [
    "GTU_CODES",
    "KSEF_MARKERS",
    "PURCHASE_DOCUMENT_KINDS",
    "PURCHASE_MARKERS",
    "SALES_DOCUMENT_KINDS",
    "SALES_MARKERS",
    "SALES_PROCEDURES",
    "normalise_gtu",
    "ordered",
    "procedure_errors",
]

#: ``GTU_01`` … ``GTU_13`` (``GTU_12``: intangible services, incl. legal and advisory ones).
GTU_CODES = tuple(f"GTU_{number:02d}" for number in range(1, 14))
#: The procedure markers of a sales row, in the schema's order.
SALES_PROCEDURES = (
    "WSTO_EE",
    "IED",
    "TP",
    "TT_WNT",
    "TT_D",
    "MR_T",
    "MR_UZ",
    "I_42",
    "I_63",
    "B_SPV",
    "B_SPV_DOSTAWA",
    "B_MPV_PROWIZJA",
)
#: Every marker a sales row may carry, in the schema's order (GTU first).
SALES_MARKERS = GTU_CODES + SALES_PROCEDURES
#: ``TypDokumentu`` of a sales row: a cash-register report, an internal document, an invoice
#: to a receipt (FP rows are left out of the tax due and the declaration).
SALES_DOCUMENT_KINDS = ("RO", "WEW", "FP")
#: A purchase row's markers: ``IMP`` (import of goods, art. 33a).
PURCHASE_MARKERS = ("IMP",)
#: ``DokumentZakupu`` of a purchase row: a cash-method seller's invoice, a farmer's VAT RR
#: invoice, an internal document.
PURCHASE_DOCUMENT_KINDS = ("MK", "VAT_RR", "WEW")
#: Where a row stands in KSeF: its number (``NrKSeF``), an invoice issued offline and not yet
#: numbered (``OFF``), an invoice outside KSeF (``BFK``), another document (``DI``).
KSEF_MARKERS = ("NrKSeF", "OFF", "BFK", "DI")


def normalise_gtu(code: str | None) -> str | None:
    """``GTU_12`` from ``"GTU_12"``, ``"12"`` or ``"gtu_12"``; ``None`` for anything else."""
    if code is None:
        return None
    text = code.strip().upper()
    if text.isdigit():
        text = f"GTU_{int(text):02d}"
    return text if text in GTU_CODES else None


def ordered(markers: Iterable[str], order: tuple[str, ...]) -> tuple[str, ...]:
    """``markers`` without repeats, in the schema's ``order`` (unknown ones dropped)."""
    wanted = set(markers)
    return tuple(marker for marker in order if marker in wanted)


def procedure_errors(markers: Iterable[str], field: str) -> list[FieldError]:
    """An error at ``field`` for each of ``markers`` that is not a sales procedure marker."""
    return [
        FieldError(
            field=field,
            code="unknown",
            message=N_("Unknown marker: %(marker)s."),
            params={"marker": marker},
        )
        for marker in markers
        if marker not in SALES_PROCEDURES
    ]
