"""UPO (Urzędowe Poświadczenie Odbioru) documents valid against ``upo-v4-3.xsd`` (§5.5).

The real UPO is XAdES-signed by the Ministry; the emulator's is not signed (the schema does not
require it) and names ``Ministerstwo Finansów`` as the XSD fixes it (the TE examples' suffix
would make it invalid).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta, timezone
from xml.sax.saxutils import escape

import attrs

from ksef_emulator.clock import to_datetime

__all__ = ["UpoEntry", "render"]

UPO_NS = "http://upo.schematy.mf.gov.pl/KSeF/v4-3"
_WARSAW = timezone(timedelta(hours=1))  # the examples' offset; exact DST does not matter here
_CONTEXT_ELEMENTS = {
    "Nip": "Nip",
    "InternalId": "IdWewnetrzny",
    "NipVatUe": "IdZlozonyVatUE",
    "PeppolId": "IdDostawcyUslugPeppol",
}


@attrs.frozen
class UpoEntry:
    """One ``Dokument`` of a UPO."""

    seller_nip: str
    ksef_number: str
    invoice_number: str
    issue_date: str
    sent_at: float
    numbered_at: float
    invoice_hash: str
    mode: str  # Online | Offline


def _stamp(moment: float) -> str:
    return to_datetime(moment).astimezone(_WARSAW).isoformat(timespec="milliseconds")


def render(
    *,
    session_reference: str,
    context_type: str,
    context_value: str,
    token_reference: str | None,
    auth_document_hash: str | None,
    entries: Sequence[UpoEntry],
) -> bytes:
    """The UPO of ``entries`` (one invoice, or a session page) as UTF-8 XML."""
    context = _CONTEXT_ELEMENTS.get(context_type, "Nip")
    if token_reference is not None:
        proof = f"<NumerReferencyjnyTokenaKSeF>{token_reference}</NumerReferencyjnyTokenaKSeF>"
    else:
        proof = (
            f"<SkrotDokumentuUwierzytelniajacego>{auth_document_hash or ''}"
            "</SkrotDokumentuUwierzytelniajacego>"
        )
    documents = "".join(
        "<Dokument>"
        f"<NipSprzedawcy>{e.seller_nip}</NipSprzedawcy>"
        f"<NumerKSeFDokumentu>{e.ksef_number}</NumerKSeFDokumentu>"
        f"<NumerFaktury>{escape(e.invoice_number)}</NumerFaktury>"
        f"<DataWystawieniaFaktury>{e.issue_date}</DataWystawieniaFaktury>"
        f"<DataPrzeslaniaDokumentu>{_stamp(e.sent_at)}</DataPrzeslaniaDokumentu>"
        f"<DataNadaniaNumeruKSeF>{_stamp(e.numbered_at)}</DataNadaniaNumeruKSeF>"
        f"<SkrotDokumentu>{e.invoice_hash}</SkrotDokumentu>"
        f"<TrybWysylki>{e.mode}</TrybWysylki>"
        "</Dokument>"
        for e in entries
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Potwierdzenie xmlns="{UPO_NS}">'
        "<NazwaPodmiotuPrzyjmujacego>Ministerstwo Finansów</NazwaPodmiotuPrzyjmujacego>"
        f"<NumerReferencyjnySesji>{session_reference}</NumerReferencyjnySesji>"
        f"<Uwierzytelnienie><IdKontekstu><{context}>{escape(context_value)}</{context}>"
        f"</IdKontekstu>{proof}</Uwierzytelnienie>"
        "<NazwaStrukturyLogicznej>Schemat_FA(3)_v1-0E.xsd</NazwaStrukturyLogicznej>"
        "<KodFormularza>FA (3)</KodFormularza>"
        f"{documents}"
        "</Potwierdzenie>"
    )
    return xml.encode("utf-8")
