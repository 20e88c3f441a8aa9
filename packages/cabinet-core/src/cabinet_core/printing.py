"""One printable view of a document: what every printed or attached form of it says.

A PDF renderer, the e-mail of a document and the web's preview and downloads all need the same
derived facts: the totals (a correction's before and after states too), the amount in words, the
split-payment (MPP) marking, the FA(3) file of a document that goes to KSeF and the file names.
:func:`document_view` works them out once, with the VAT rules in force on the issue date
(``cabinet.tax_rules_on``), so the PDF, its embedded XML, the mail's attachments and the
download never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

import attrs

from cabinet_core.contract_text import Block
from cabinet_core.doctypes.common import BaseDocumentType
from cabinet_core.entities import Client, Document, DocumentTotals, Party, Template
from cabinet_core.errors import FieldError, ValidationError
from cabinet_core.ksef import document_to_fa3
from cabinet_core.ksef.corrections import OriginalInKsef, with_original_ksef_number
from cabinet_core.ksef.submission import KsefSubmission, VerificationCode
from cabinet_core.vat import (
    CorrectionTotals,
    TaxRules,
    compute_correction,
    compute_totals,
    split_payment_applies,
)
from cabinet_core.words import amount_in_words

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.doctypes import DocumentType
    from cabinet_core.rendering import Rendered

#: The media type of the printed document.
PDF = "application/pdf"
#: The languages the amount in words is spelt in (a ``pl+en`` document prints both).
WORD_LANGUAGES = ("pl", "en")


@attrs.frozen(kw_only=True)
class Fa3File:
    """A document's FA(3) XML as it is attached, embedded and downloaded."""

    content: bytes
    filename: str
    media_type: str = "application/xml"


@attrs.frozen(kw_only=True)
class DocumentView:
    """What a printed document says beyond its stored fields; built by :func:`document_view`.

    ``totals`` are what the document states (a correction's difference), ``correction`` the
    before/after states of a correction written as "before" and "after" lines (else ``None``).
    ``fa3`` is the FA(3) file of a numbered document whose type has a ``ksef_kind``; when such a
    document cannot be written as FA(3), ``fa3`` is ``None`` and ``fa3_errors`` says why.
    """

    document: Document
    client: Client
    document_type: DocumentType | None
    template: Template | None
    rules: TaxRules
    totals: DocumentTotals | None
    correction: CorrectionTotals | None
    amount_in_words: Mapping[str, str]
    split_payment: bool
    fa3: Fa3File | None
    fa3_errors: tuple[FieldError, ...]
    filename: str
    draft: bool
    #: Where the document stands in KSeF (``None``: never sent there).
    ksef: KsefSubmission | None = None
    #: The text of a document made from a contract template, as blocks (else ``None``).
    text: tuple[Block, ...] | None = None

    @property
    def ksef_number(self) -> str | None:
        """The number KSeF gave the document (or a user recorded), printed on it."""
        return self.ksef.ksef_number if self.ksef is not None else None

    @property
    def verification_codes(self) -> tuple[VerificationCode, ...]:
        """The verification QR codes to print, each with its label (KOD I, and KOD II offline):
        what the KSeF plugin computed and the core stored with the submission."""
        return self.ksef.verification if self.ksef is not None else ()

    @property
    def ksef_offline_mode(self) -> str | None:
        """The offline mode the invoice was issued in (``offline24``, ``unavailability``,
        ``emergency``), printed with its codes; ``None`` for an online one."""
        if self.ksef is None or self.ksef.offline_mode is None:
            return None
        return self.ksef.offline_mode.value

    @property
    def ksef_kind(self) -> str | None:
        """The FA(3) kind the document is written as (``None``: it never goes to KSeF)."""
        return self.document_type.ksef_kind if self.document_type is not None else None


def file_stem(document: Document) -> str:
    """The name files of ``document`` share: its number made safe for a file system
    (``FV/1/11/2026`` → ``FV-1-11-2026``); a document without a number is a named draft."""
    stem = document.number or f"{document.doc_type}-{document.id or 'new'}-draft"
    return re.sub(r"[^0-9A-Za-z._-]+", "-", stem).strip("-")


def totals_of(
    document: Document, rules: TaxRules
) -> tuple[DocumentTotals | None, CorrectionTotals | None]:
    """What the document states (its stored totals, else computed now with ``rules``) and, for
    a correction written as before/after rows, both states."""
    if not document.lines:
        return document.totals, None
    options: dict[str, Any] = {
        "currency": document.currency,
        "price_mode": document.price_mode,
        "vat_method": document.vat_method,
        "exchange_rate": document.exchange_rate,
        "rules": rules,
    }
    if any(line.before for line in document.lines):
        correction = compute_correction(document.lines, **options)
        return document.totals or correction.difference, correction
    return document.totals or compute_totals(document.lines, **options), None


def _seller(document: Document, client: Client) -> Party:
    # The client issues its sales documents: a document saved without a seller snapshot is its.
    from cabinet_core.services.documents import party_of_client

    return document.seller or party_of_client(client)


def _fa3(
    document: Document,
    client: Client,
    kind: str | None,
    rules: TaxRules,
    original: OriginalInKsef | None = None,
) -> tuple[Fa3File | None, tuple[FieldError, ...]]:
    if kind is None or not document.number:
        return None, ()
    if original is not None:
        document, problems = with_original_ksef_number(document, original)
        if problems:
            return None, tuple(problems)
    # DataWytworzeniaFa is the document's last change, so the same document always gives the
    # same file (the PDF embeds what the mail attaches and the download returns).
    created_at = (
        document.updated_at
        or document.created_at
        or datetime.combine(document.issue_date, time(12, 0))
    )
    try:
        xml = document_to_fa3(
            document,
            seller=_seller(document, client),
            created_at=created_at,
            rules=rules,
            kind=kind,
        )
    except ValidationError as error:
        return None, tuple(error.errors)
    return Fa3File(content=xml, filename=f"{file_stem(document)}.xml"), ()


def document_view(
    document: Document,
    *,
    client: Client,
    document_type: DocumentType | None,
    rules: TaxRules,
    template: Template | None = None,
    ksef: KsefSubmission | None = None,
    original: OriginalInKsef | None = None,
) -> DocumentView:
    """The printable view of ``document`` of ``client`` under ``rules`` (the VAT rules of its
    issue date: ``cabinet.tax_rules_on(document.issue_date)``); ``document_type`` ``None`` for
    a type no longer registered (printed by its stored fields only). ``ksef`` is the
    document's KSeF submission (its number and QR codes are printed); ``original``, for a
    correction, what KSeF knows of the invoice it corrects (its KSeF number goes into FA(3))."""
    totals, correction = totals_of(document, rules)
    words = (
        {lang: amount_in_words(totals.gross, totals.currency, lang) for lang in WORD_LANGUAGES}
        if totals is not None
        else {}
    )
    kind = document_type.ksef_kind if document_type is not None else None
    corrects = isinstance(document_type, BaseDocumentType) and document_type.corrects
    if corrects and original is not None and document.number:
        # The original's KSeF number is printed as well as written into FA(3).
        filled, problems = with_original_ksef_number(document, original)
        if not problems:
            document = filled
    fa3, errors = _fa3(document, client, kind, rules, original if corrects else None)
    initial = document_type.workflow.initial if document_type is not None else "draft"
    return DocumentView(
        document=document,
        client=client,
        document_type=document_type,
        template=template,
        rules=rules,
        totals=totals,
        correction=correction,
        amount_in_words=words,
        # The rule the FA(3) writer and the documents service share, so the words printed
        # and the P_18A embedded never disagree (annex-15 lines, a correction's full total).
        split_payment=bool(document.lines) and split_payment_applies(document, rules=rules),
        fa3=fa3,
        fa3_errors=errors,
        filename=f"{file_stem(document)}.pdf",
        # A document still in its type's first state is printed as a draft (a watermark).
        draft=document.status == initial,
        ksef=ksef,
    )


def view_of(
    cabinet: Cabinet, document: Document, client: Client, template: Template | None = None
) -> DocumentView:
    """:func:`document_view` with what ``cabinet`` registered: the document's type, the VAT
    rules of its issue date and its template (``template`` overrides the document's choice)."""
    if template is None and document.template:
        template = cabinet.templates.get(document.template)
    document_type = cabinet.document_types.get(document.doc_type)
    ksef, original = _ksef_of(cabinet, document)
    view = document_view(
        document,
        client=client,
        document_type=document_type,
        rules=cabinet.tax_rules_on(document.issue_date),
        template=template,
        ksef=ksef,
        original=original,
    )
    if document_type is not None and document_type.from_template:
        view = attrs.evolve(view, text=cabinet.contract_templates.text_of(document, client))
    return view


def _ksef_of(
    cabinet: Cabinet, document: Document
) -> tuple[KsefSubmission | None, OriginalInKsef | None]:
    """The document's KSeF submission and, when it names a related document (a correction's
    original), what KSeF knows of that one."""
    document_type = cabinet.document_types.get(document.doc_type)
    if document.id is None or document.number is None or document_type is None:
        return None, None
    if document_type.ksef_kind is None:
        # Never in KSeF: nothing to read (most documents a cabinet prints).
        return None, None
    with cabinet.store.transaction(readonly=True) as tx:
        ksef = tx.ksef.get(document.id)
        original = None
        if document.related_id is not None:
            related = tx.get_document(document.related_id)
            if related is not None:
                original = OriginalInKsef(
                    document_id=document.related_id,
                    submission=tx.ksef.get(document.related_id),
                )
    return ksef, original


def render(
    cabinet: Cabinet,
    document: Document,
    client: Client,
    *,
    language: str | None = None,
    media_type: str = PDF,
) -> Rendered:
    """``document`` rendered to ``media_type`` (a PDF by default) by the renderer registered
    for its type, with the template it chose, in ``language`` (default: the document's).
    No renderer for it → :class:`~cabinet_core.errors.NotFound`."""
    renderer = cabinet.renderer_for(document.doc_type, media_type)
    template = cabinet.templates.get(document.template) if document.template else None

    def run() -> Rendered:
        return renderer.render(
            cabinet,
            document,
            client=client,
            template=template,
            language=language or document.language,
        )

    if media_type != PDF:
        return run()
    with cabinet.metrics.timing_pdf(document.doc_type):
        return run()


__all__ = [
    "PDF",
    "DocumentView",
    "Fa3File",
    "document_view",
    "file_stem",
    "render",
    "totals_of",
    "view_of",
]
