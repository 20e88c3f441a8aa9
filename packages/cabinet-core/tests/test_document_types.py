"""The built-in document types: registration, fields, every validation rule and the workflows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from cabinet_core import default_document_types, default_templates
from cabinet_core.doctypes import BaseDocumentType, DocumentType
from cabinet_core.doctypes.bills import Bill
from cabinet_core.doctypes.cash_report import CashReport
from cabinet_core.doctypes.contracts import Contract
from cabinet_core.doctypes.correction_request import CorrectionRequest
from cabinet_core.doctypes.invoices import CorrectingInvoice, CostInvoice, Proforma, VatInvoice
from cabinet_core.entities import Document, DocumentLine, Party, Role
from cabinet_core.errors import FieldError
from cabinet_core.numbering_pattern import check_pattern

DAY = date(2026, 11, 20)
BUYER = Party(name="Kupiec sp. z o.o.", nip="1234563218")
SELLER = Party(name="Dostawca S.A.", nip="5260001246")
LINE = DocumentLine(name="Usługa doradcza", quantity=Decimal(1), unit_price=Decimal("100.00"))

TYPES: dict[str, BaseDocumentType] = {}


def _registered() -> dict[str, Any]:
    found: dict[str, Any] = {}
    default_document_types.register_document_types(register=lambda t: found.setdefault(t.key, t))
    return found


TYPES.update(_registered())

VALID_EXTRA: dict[str, dict[str, Any]] = {
    "cost_invoice": {"seller_invoice_number": "FV/100/11/2026"},
    "proforma": {"valid_until": "2026-12-20"},
    "vat_invoice": {},
    "correcting_invoice": {
        "corrected_number": "FV/3/10/2026",
        "corrected_issue_date": "2026-10-05",
    },
    "correction_request": {
        "original_number": "FV/9/11/2026",
        "original_issue_date": "2026-11-02",
        "requested_correction": "Nazwa nabywcy: Kupiec sp. z o.o.",
    },
    "contract": {
        "contract_kind": "zlecenie",
        "subject": "Prowadzenie szkoleń",
        "date_from": "2026-11-20",
        "rate_type": "lump_sum",
        "amount": "1000.00",
        "template_version_id": 1,
    },
    "bill": {
        "contract_number": "UM/1/2026",
        "contract_date": "2026-11-01",
        "contract_kind": "dzielo",
        "gross_amount": "1000.00",
    },
    "cash_report": {
        "period_from": "2026-11-01",
        "period_to": "2026-11-30",
        "opening_balance": "100.00",
        "entries": [
            {
                "date": "2026-11-03",
                "description": "Wpłata",
                "document_number": "KP 1/2026",
                "receipt": "50.00",
            },
            {
                "date": "2026-11-04",
                "description": "Paliwo",
                "document_number": "FV/7",
                "payment": "150.00",
            },
        ],
    },
}


def valid(doc_type: str, **changes: Any) -> Document:
    """A document of ``doc_type`` that passes validation, with ``changes`` applied."""
    document_type = TYPES[doc_type]
    base = Document(
        client_id=1,
        doc_type=doc_type,
        issue_date=DAY,
        buyer=BUYER if document_type.buyer_required else None,
        seller=SELLER if document_type.seller_required else None,
        lines=(LINE,) if document_type.has_lines else (),
        extra=VALID_EXTRA[doc_type],
    )
    return attrs.evolve(base, **changes)


def with_extra(doc_type: str, **extra: Any) -> Document:
    return valid(doc_type, extra={**VALID_EXTRA[doc_type], **extra})


def codes(errors: Sequence[FieldError]) -> set[tuple[str, str]]:
    return {(error.field, error.code) for error in errors}


def check(document: Document) -> set[tuple[str, str]]:
    return codes(TYPES[document.doc_type].validate(document))


# -- registration and declarations -------------------------------------------------------------


def test_all_built_in_types_are_registered_under_their_binding_keys() -> None:
    assert set(TYPES) == {
        "cost_invoice",
        "proforma",
        "vat_invoice",
        "correcting_invoice",
        "correction_request",
        "contract",
        "bill",
        "cash_report",
    }
    for document_type in TYPES.values():
        assert isinstance(document_type, DocumentType)
        assert set(document_type.label) == {"pl", "en"}
        check_pattern(document_type.series_pattern)


@pytest.mark.parametrize(
    ("doc_type", "pattern"),
    [
        ("cost_invoice", "KOSZT/{seq}/{MM}/{YYYY}"),
        ("proforma", "PRO/{seq}/{MM}/{YYYY}"),
        ("vat_invoice", "FV/{seq}/{MM}/{YYYY}"),
        ("correcting_invoice", "KOR/{seq}/{MM}/{YYYY}"),
        ("correction_request", "PK/{seq}/{YYYY}"),
        ("contract", "UM/{seq}/{YYYY}"),
        ("bill", "R/{seq}/{YYYY}"),
        ("cash_report", "RK/{seq}/{YYYY}"),
    ],
)
def test_series_patterns(doc_type: str, pattern: str) -> None:
    assert TYPES[doc_type].series_pattern == pattern


def test_lines_and_vat_flags() -> None:
    with_lines = {key for key, t in TYPES.items() if t.has_lines}
    invoices = {"cost_invoice", "proforma", "vat_invoice", "correcting_invoice"}
    # A correction request may say line by line what should change; it bears no VAT itself.
    assert with_lines == invoices | {"correction_request"}
    assert {key for key, t in TYPES.items() if t.vat_bearing} == invoices


def test_every_field_and_state_has_both_languages() -> None:
    for document_type in TYPES.values():
        for spec in document_type.fields:
            assert set(spec.label) == {"pl", "en"}, (document_type.key, spec.name)
            for choice in spec.choices.values():
                assert set(choice) == {"pl", "en"}
        for state in document_type.workflow.states:
            assert set(state.label) == {"pl", "en"}
        for transition in document_type.workflow.transitions:
            assert set(transition.label) == {"pl", "en"}
            assert transition.target in {s.key for s in document_type.workflow.states}


@pytest.mark.parametrize("doc_type", sorted(VALID_EXTRA))
def test_a_complete_document_of_each_type_is_valid(doc_type: str) -> None:
    assert check(valid(doc_type)) == set()


# -- common rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_type", sorted(VALID_EXTRA))
def test_currency_must_be_pln_eur_or_usd(doc_type: str) -> None:
    assert ("currency", "unsupported") in check(valid(doc_type, currency="GBP"))
    # A bill's ZUS and income tax are settled in złoty, so it is paid in PLN alone.
    expected = {("currency", "not_pln")} if doc_type == "bill" else set()
    assert check(valid(doc_type, currency="EUR")) == expected


def test_language_must_be_polish_english_or_both() -> None:
    assert ("language", "unsupported") in check(valid("vat_invoice", language="de"))
    assert check(valid("vat_invoice", language="pl+en")) == set()


def test_doc_type_must_match_the_validating_type() -> None:
    document = valid("vat_invoice")
    assert ("doc_type", "mismatch") in codes(TYPES["proforma"].validate(document))


def test_due_date_not_before_issue_date() -> None:
    assert ("due_date", "before_issue_date") in check(
        valid("vat_invoice", due_date=date(2026, 11, 19))
    )
    assert check(valid("vat_invoice", due_date=DAY)) == set()


def test_invoice_at_most_60_days_before_the_sale() -> None:
    assert check(valid("vat_invoice", sale_date=date(2027, 1, 19))) == set()
    assert ("sale_date", "too_far_after_issue") in check(
        valid("vat_invoice", sale_date=date(2027, 1, 20))
    )


@pytest.mark.parametrize("doc_type", ["vat_invoice", "proforma", "correcting_invoice", "contract"])
def test_buyer_required_with_a_name(doc_type: str) -> None:
    assert ("buyer", "required") in check(valid(doc_type, buyer=None))
    assert ("buyer.name", "required") in check(valid(doc_type, buyer=Party(name="  ")))


def test_buyer_nip_checked_when_given() -> None:
    assert ("buyer.nip", "nip_checksum") in check(
        valid("vat_invoice", buyer=Party(name="X", nip="1234563219"))
    )
    assert check(valid("vat_invoice", buyer=Party(name="Osoba prywatna"))) == set()


def test_cost_invoice_needs_the_seller() -> None:
    assert ("seller", "required") in check(valid("cost_invoice", seller=None))
    assert ("seller.nip", "nip_checksum") in check(
        valid("cost_invoice", seller=Party(name="S", nip="5260001247"))
    )


@pytest.mark.parametrize("doc_type", ["vat_invoice", "proforma", "cost_invoice"])
def test_invoices_need_a_line(doc_type: str) -> None:
    assert ("lines", "required") in check(valid(doc_type, lines=()))


def test_line_rules() -> None:
    bad = (
        DocumentLine(name="", quantity=Decimal(1), unit_price=Decimal(1)),
        DocumentLine(name="a", quantity=Decimal(0), unit_price=Decimal(1)),
        DocumentLine(name="b", quantity=Decimal(-1), unit_price=Decimal(1)),
        DocumentLine(name="c", quantity=Decimal(1), unit_price=Decimal(-1)),
        DocumentLine(name="d", quantity=Decimal(1), unit_price=Decimal(1), vat_rate="22"),
    )
    assert check(valid("vat_invoice", lines=bad)) == {
        ("lines.0.name", "required"),
        ("lines.1.quantity", "not_positive"),
        ("lines.2.quantity", "not_positive"),
        ("lines.3.unit_price", "negative"),
        ("lines.4.vat_rate", "unknown_vat_rate"),
    }


@pytest.mark.parametrize("code", ["23", "8", "5", "0 KR", "0 WDT", "0 EX", "np I", "np II", "oo"])
def test_every_2026_rate_code_is_known(code: str) -> None:
    line = attrs.evolve(LINE, vat_rate=code)
    # An intra-EU supply (0 WDT, np II) is made to a buyer with an EU VAT number.
    buyer = attrs.evolve(BUYER, vat_eu="DE136695976")
    assert check(valid("vat_invoice", buyer=buyer, lines=(line,))) == set()


def test_vat_codes_can_come_from_other_rules() -> None:
    document = valid("vat_invoice", lines=(attrs.evolve(LINE, vat_rate="7"),))
    assert codes(TYPES["vat_invoice"].validate(document, vat_codes={"7"})) == set()


def test_types_without_lines_refuse_lines() -> None:
    assert ("lines", "not_allowed") in check(valid("bill", lines=(LINE,)))


# -- typed extra fields ----------------------------------------------------------------------


def test_required_extra_fields() -> None:
    assert ("extra.seller_invoice_number", "required") in check(
        valid("cost_invoice", extra={"seller_invoice_number": "  "})
    )


def test_unknown_extra_field_is_refused() -> None:
    assert ("extra.colour", "unknown") in check(with_extra("vat_invoice", colour="red"))


@pytest.mark.parametrize(
    ("doc_type", "field", "value"),
    [
        ("proforma", "valid_until", "20.12.2026"),
        ("contract", "amount", "dużo"),
        ("contract", "amount", 1000.0),
        ("contract", "contract_kind", "praca"),
        ("vat_invoice", "split_payment", "perhaps"),
        ("cost_invoice", "seller_invoice_number", 12),
    ],
)
def test_unreadable_extra_values(doc_type: str, field: str, value: Any) -> None:
    assert (f"extra.{field}", "invalid") in check(with_extra(doc_type, **{field: value}))


def test_normalise_extra_stores_json_forms_and_defaults() -> None:
    contract = TYPES["contract"]
    stored = contract.normalise_extra(
        {"amount": Decimal("10.50"), "date_from": date(2026, 1, 2), "subject": " x "}
    )
    assert stored["amount"] == "10.50"
    assert stored["date_from"] == "2026-01-02"
    assert stored["subject"] == "x"
    assert stored["rate_type"] == "lump_sum"
    assert stored["copyright_transfer"] is False
    # Unreadable input is kept so validation can point at it.
    assert contract.normalise_extra({"amount": "abc"})["amount"] == "abc"


def test_values_are_typed() -> None:
    document = with_extra("contract", amount="1 000,50".replace(" ", ""))
    assert TYPES["contract"].value(document, "amount") == Decimal("1000.50")
    assert TYPES["contract"].value(document, "date_from") == date(2026, 11, 20)


# -- type rules ------------------------------------------------------------------------------


def test_cost_invoice_received_after_issue() -> None:
    assert ("receipt_date", "before_issue_date") in check(
        valid("cost_invoice", receipt_date=date(2026, 11, 19))
    )
    assert check(valid("cost_invoice", receipt_date=DAY)) == set()


def test_proforma_cannot_expire_before_it_is_issued() -> None:
    assert ("extra.valid_until", "before_issue_date") in check(
        with_extra("proforma", valid_until="2026-11-19")
    )


def test_exempt_lines_need_the_legal_basis() -> None:
    exempt = (attrs.evolve(LINE, vat_rate="zw"),)
    assert ("extra.exemption_basis", "required") in check(valid("vat_invoice", lines=exempt))
    document = valid(
        "vat_invoice", lines=exempt, extra={"exemption_basis": "art. 113 ust. 1 ustawy o VAT"}
    )
    assert check(document) == set()


def test_correcting_invoice_allows_zero_quantity_and_follows_the_original() -> None:
    before = attrs.evolve(LINE, before=True)
    after = attrs.evolve(LINE, quantity=Decimal(0))
    assert check(valid("correcting_invoice", lines=(before, after))) == set()
    assert ("lines", "required") in check(valid("correcting_invoice", lines=(before,)))
    assert ("extra.corrected_issue_date", "after_issue_date") in check(
        with_extra("correcting_invoice", corrected_issue_date="2026-11-21")
    )
    assert ("extra.corrected_number", "required") in check(
        with_extra("correcting_invoice", corrected_number="")
    )


def test_correction_request_only_from_1_february_2026() -> None:
    assert (
        check(
            valid(
                "correction_request",
                issue_date=date(2026, 2, 1),
                extra={**VALID_EXTRA["correction_request"], "original_issue_date": "2026-01-15"},
            )
        )
        == set()
    )
    early = valid(
        "correction_request",
        issue_date=date(2026, 1, 31),
        extra={**VALID_EXTRA["correction_request"], "original_issue_date": "2026-01-15"},
    )
    assert ("issue_date", "before_2026_02_01") in check(early)


def test_nota_korygujaca_only_as_history_before_the_repeal() -> None:
    correction = TYPES["correction_request"]
    extra = {
        **VALID_EXTRA["correction_request"],
        "kind": "nota",
        "original_issue_date": "2025-12-01",
    }
    historic = valid("correction_request", issue_date=date(2026, 1, 31), extra=extra)
    assert check(historic) == set()
    assert correction.initial_status(historic) == "historic"
    assert correction.workflow.state("historic").final
    assert not correction.workflow.state("historic").editable
    assert all("historic" not in t.source for t in correction.workflow.transitions), (
        "a historic note is read-only"
    )
    new_nota = valid("correction_request", issue_date=date(2026, 2, 1), extra=extra)
    assert ("issue_date", "nota_repealed") in check(new_nota)
    assert correction.initial_status(valid("correction_request")) == "draft"


def test_correction_request_after_the_invoice() -> None:
    assert ("extra.original_issue_date", "after_issue_date") in check(
        with_extra("correction_request", original_issue_date="2026-11-21")
    )


def test_contract_rules() -> None:
    assert ("extra.date_to", "before_start") in check(with_extra("contract", date_to="2026-11-19"))
    assert ("extra.amount", "required") in check(with_extra("contract", amount=None))
    assert ("extra.amount", "not_positive") in check(with_extra("contract", amount="0"))
    hourly = with_extra("contract", rate_type="hourly", amount=None, hourly_rate="31.39")
    assert ("extra.hourly_rate", "below_minimum") in check(hourly)
    assert check(with_extra("contract", rate_type="hourly", hourly_rate="31.40")) == set()
    # The minimum applies to a mandate (zlecenie), not to a specific work (dzieło).
    assert (
        check(with_extra("contract", contract_kind="dzielo", rate_type="hourly", hourly_rate="20"))
        == set()
    )
    assert TYPES["contract"].amount(valid("contract")) == Decimal("1000.00")
    assert TYPES["contract"].amount(hourly) is None


def test_bill_rules() -> None:
    assert ("extra.contract_date", "after_issue_date") in check(
        with_extra("bill", contract_date="2026-11-21")
    )
    assert ("extra.period_to", "before_start") in check(
        with_extra("bill", period_from="2026-11-10", period_to="2026-11-09")
    )
    assert ("extra.gross_amount", "not_positive") in check(with_extra("bill", gross_amount="-5"))
    assert ("extra.hours", "not_positive") in check(with_extra("bill", hours="0"))
    assert ("extra.gross_amount", "required") in check(with_extra("bill", gross_amount=""))
    assert TYPES["bill"].amount(valid("bill")) == Decimal("1000.00")


def test_cash_report_balance_and_closing() -> None:
    report: CashReport = TYPES["cash_report"]  # type: ignore[assignment]
    balance = report.balance(valid("cash_report"))
    assert (balance.opening, balance.receipts, balance.payments, balance.closing) == (
        Decimal("100.00"),
        Decimal("50.00"),
        Decimal("150.00"),
        Decimal("0.00"),
    )
    assert report.amount(valid("cash_report")) == Decimal("0.00")


def test_cash_balance_never_negative_after_any_entry() -> None:
    # Paying before the receipt that covers it: the end balance is fine but the order is not.
    entries = [
        {"date": "2026-11-03", "payment": "150.00"},
        {"date": "2026-11-04", "receipt": "50.00"},
    ]
    assert ("extra.entries.0", "negative_balance") in check(
        with_extra("cash_report", entries=entries)
    )
    assert ("extra.opening_balance", "negative") in check(
        with_extra("cash_report", opening_balance="-1", entries=[])
    )


def test_cash_report_period_and_entries() -> None:
    assert ("extra.period_to", "longer_than_month") in check(
        with_extra("cash_report", period_to="2026-12-01", entries=[])
    )
    assert ("extra.period_to", "before_start") in check(
        with_extra("cash_report", period_to="2026-10-30", entries=[])
    )
    entries = [
        {"date": "2026-11-05", "receipt": "1"},
        {"date": "2026-11-04", "receipt": "1"},
        {"date": "2026-12-01", "receipt": "1"},
        {"date": "zły", "receipt": "1"},
        {"date": "2026-11-06", "receipt": "1", "payment": "1"},
        {"date": "2026-11-06"},
        {"date": "2026-11-06", "receipt": "x"},
        "row",
    ]
    assert check(with_extra("cash_report", entries=entries)) == {
        ("extra.entries.1.date", "not_chronological"),
        ("extra.entries.2.date", "outside_period"),
        ("extra.entries.3.date", "invalid"),
        ("extra.entries.4", "one_side"),
        ("extra.entries.5", "one_side"),
        ("extra.entries.6.receipt", "invalid"),
        ("extra.entries.7", "invalid"),
    }
    assert ("extra.entries", "invalid") in check(with_extra("cash_report", entries="none"))


# -- workflows -------------------------------------------------------------------------------


def _moves(doc_type: str, status: str, role: Role) -> set[str]:
    return {t.key for t in TYPES[doc_type].workflow.available(status, role)}


def test_cost_invoice_workflow() -> None:
    workflow = TYPES["cost_invoice"].workflow
    assert workflow.initial == "draft"
    assert _moves("cost_invoice", "draft", Role.CLIENT) == {"submit"}
    assert workflow.transition("submit").assigns_number
    assert _moves("cost_invoice", "submitted", Role.CLIENT) == set()
    assert _moves("cost_invoice", "submitted", Role.ACCOUNTANT) == {"approve", "return"}
    assert workflow.transition("return").needs_comment
    assert _moves("cost_invoice", "returned", Role.CLIENT) == {"resubmit"}
    assert workflow.state("returned").editable
    assert _moves("cost_invoice", "approved", Role.ACCOUNTANT) == {"book", "mark_paid"}
    assert _moves("cost_invoice", "booked", Role.CLIENT) == {"mark_paid"}
    assert _moves("cost_invoice", "approved", Role.MANAGER) == set()
    assert workflow.state("paid").final


@pytest.mark.parametrize("doc_type", ["vat_invoice", "proforma", "correcting_invoice", "bill"])
def test_sales_workflow(doc_type: str) -> None:
    workflow = TYPES[doc_type].workflow
    assert workflow.initial == "draft"
    assert workflow.state("draft").editable
    assert not workflow.state("issued").editable
    issue = workflow.transition("issue")
    assert issue.assigns_number and issue.target == "issued"
    assert "issue" in _moves(doc_type, "draft", Role.CLIENT)
    assert "issue" not in _moves(doc_type, "draft", Role.ACCOUNTANT)
    assert _moves(doc_type, "issued", Role.CLIENT) >= {"send", "mark_paid"}
    assert "mark_paid" in _moves(doc_type, "sent", Role.ACCOUNTANT)


def test_an_issued_vat_invoice_cannot_be_cancelled_but_a_proforma_can() -> None:
    assert "cancel" not in _moves("vat_invoice", "issued", Role.ADMIN)
    assert "cancel" in _moves("vat_invoice", "draft", Role.CLIENT)
    assert "cancel" in _moves("proforma", "sent", Role.CLIENT)


def test_contract_correction_request_and_cash_report_workflows() -> None:
    assert _moves("contract", "draft", Role.CLIENT) == {"sign"}
    assert TYPES["contract"].workflow.transition("sign").assigns_number
    assert _moves("contract", "signed", Role.MANAGER) == {"complete", "terminate"}
    assert _moves("correction_request", "draft", Role.CLIENT) == {"send"}
    assert _moves("correction_request", "sent", Role.CLIENT) == {"accept", "reject"}
    assert _moves("cash_report", "draft", Role.CLIENT) == {"close"}
    assert _moves("cash_report", "closed", Role.CLIENT) == set()
    assert _moves("cash_report", "closed", Role.ACCOUNTANT) == {"approve", "reopen"}


def test_only_declared_classes_are_registered() -> None:
    assert {type(t) for t in TYPES.values()} == {
        CostInvoice,
        Proforma,
        VatInvoice,
        CorrectingInvoice,
        CorrectionRequest,
        Contract,
        Bill,
        CashReport,
    }


def test_built_in_templates_lay_out_the_issued_documents() -> None:
    templates: dict[str, Any] = {}
    default_templates.register_templates(register=lambda t: templates.setdefault(t.key, t))
    assert set(templates) == {"classic", "modern"}
    for template in templates.values():
        assert set(template.document_types) <= set(TYPES)
        assert {"vat_invoice", "proforma", "correcting_invoice"} <= set(template.document_types)
        assert template.renderer == "pdf"


def test_a_new_contract_needs_the_template_it_is_made_from() -> None:
    contract = valid("contract")
    assert TYPES["contract"].validate(contract) == []
    for missing in (None, "", 0, True, "1"):
        without = attrs.evolve(contract, extra={**contract.extra, "template_version_id": missing})
        assert [(e.field, e.code) for e in TYPES["contract"].validate(without)] == [
            ("extra.template_version_id", "template_required")
        ], missing
    # A contract stored before the rule keeps its data sheet and stays editable.
    stored = attrs.evolve(contract, id=7, extra={**contract.extra, "template_version_id": None})
    assert TYPES["contract"].validate(stored) == []
