"""Whose document it is: a document the client sends out in its own name carries the client's
identity, not the accounting firm's.

The firm's branding (its name, logo and colours in the banner, "Issued in the client cabinet of
<firm>" in the footer) suits what the cabinet keeps for the firm: a cost invoice the client
brought, a cash report. A sales invoice, a proforma, a bill or a correction request goes to the
client's own counterparty, who deals with the client and has never heard of its accountants: its
banner and footer name the client (as the document's own party snapshot states it: name,
address, NIP), with neutral colours and no logo (the cabinet keeps no logo per client).
A type says it is such a document by declaring ``sendable_states``: it is e-mailed to its party.
"""

from __future__ import annotations

from cabinet_core.doctypes import DocumentType
from cabinet_core.entities import Client, Document, Party

from cabinet_pdf.labels import label
from cabinet_pdf.layout import Look, client_party, colour
from cabinet_pdf.themes import Theme

__all__ = ["issuer_look", "sent_in_clients_name"]

#: The layout's own default colours, used instead of the firm's for the client's documents.
NEUTRAL_PRIMARY = "#1f4e79"
NEUTRAL_ACCENT = "#f2a900"


def sent_in_clients_name(document_type: DocumentType | None) -> bool:
    """Whether documents of this type go out to the client's counterparty in its name."""
    return document_type is not None and bool(document_type.sendable_states)


def _issuer(document: Document, client: Client, document_type: DocumentType) -> Party:
    """The client as the document states it: the seller of its sales documents, the buyer of
    those it sends as a buyer (a correction request), else its profile."""
    own = document.buyer if document_type.client_is_buyer else document.seller
    return own if own is not None and own.name.strip() else client_party(client)


def _identity_line(party: Party, language: str) -> str:
    address = party.address
    town = " ".join(part for part in (address.postal_code, address.city) if part)
    parts = [part for part in (address.line1, town) if part]
    if address.country and address.country != "PL":
        parts.append(address.country)
    if party.nip:
        parts.append(f"{label('nip', language)}: {party.nip}")
    return " · ".join(parts)


def issuer_look(
    document: Document,
    client: Client,
    document_type: DocumentType,
    *,
    theme: Theme,
    language: str,
) -> Look:
    """The banner and footer of a document sent in the client's name: the client's name,
    address and NIP; no firm name, logo or colours."""
    party = _issuer(document, client, document_type)
    identity = _identity_line(party, language)
    return Look(
        firm_name=party.name.strip(),
        primary=colour(NEUTRAL_PRIMARY, NEUTRAL_PRIMARY),
        accent=colour(NEUTRAL_ACCENT, NEUTRAL_ACCENT),
        theme=theme,
        logo=None,
        identity=identity,
        footer=" · ".join(part for part in (party.name.strip(), identity) if part),
    )
