"""The declaration and the register rows as properties: the declaration's identities hold for any
period sums, a row's K fields carry exactly its amounts, and any rows make a schema-valid JPK."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
from cabinet_core.entities import Address, Party
from cabinet_core.vat import POLAND_2026, TaxRules
from cabinet_core.vat_statement import (
    PURCHASE,
    SALES,
    JpkHeader,
    RegisterEntry,
    Taxpayer,
    VatMark,
    build_row,
    compute_declaration,
    validate_jpk,
    whole_zloty,
    write_jpk,
)
from hypothesis import given, settings
from hypothesis import strategies as st

AMOUNTS = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("999999.99"), places=2)
SALES_FIELDS = ("K_10", "K_11", "K_13", "K_15", "K_16", "K_17", "K_18", "K_19", "K_20", "K_21")
RATES = ("23", "8", "5", "0 KR", "0 WDT", "0 EX", "zw", "np I", "np II", "oo")


def _rules(_: date) -> TaxRules:
    return POLAND_2026


@given(
    st.dictionaries(st.sampled_from(SALES_FIELDS), AMOUNTS),
    st.dictionaries(st.sampled_from(("K_42", "K_43", "K_40", "K_41")), AMOUNTS),
    st.integers(min_value=0, max_value=10**6),
)
def test_the_declarations_identities(
    sales: dict[str, Decimal], purchases: dict[str, Decimal], surplus: int
) -> None:
    declaration = compute_declaration(sales, purchases, surplus_from_previous=surplus)
    p = declaration.positions
    assert p["P_19"] == whole_zloty(sales.get("K_19", Decimal(0)))
    assert p["P_38"] == p["P_16"] + p["P_18"] + p["P_20"]
    assert p["P_48"] == surplus + p["P_41"] + p["P_43"]
    assert p["P_51"] >= 0 and p["P_53"] >= 0 and p["P_51"] * p["P_53"] == 0
    assert p["P_51"] - p["P_53"] == p["P_38"] - p["P_48"]
    assert p["P_62"] == p["P_53"]
    written = dict(declaration.written())
    assert "P_38" in written and "P_51" in written


ROW_AMOUNTS = st.lists(
    st.tuples(st.sampled_from(RATES), AMOUNTS, AMOUNTS),
    min_size=1,
    max_size=4,
    unique_by=lambda x: x[0],
)


def _entry(
    number: int, amounts: list[tuple[str, Decimal, Decimal]], currency: str
) -> RegisterEntry:
    rate = Decimal("4.2512") if currency != "PLN" else None
    return RegisterEntry(
        document_id=number,
        doc_type="x",
        number=f"FV/{number}/2026",
        seller_number=None,
        issue_date=date(2026, 11, 10),
        sale_date=None,
        receipt_date=date(2026, 11, 12),
        currency=currency,
        counterparty=Party(name="Kontrahent & Syn <sp. j.>", nip="5260250274", address=Address()),
        totals={"rows": [{"rate": r, "net": str(n), "vat": str(v)} for r, n, v in amounts]},
        fx_rate=rate,
        fx_table="1/A/NBP/2026" if rate else None,
        fx_date=date(2026, 11, 9) if rate else None,
        ksef_number=None,
    )


@settings(max_examples=60, deadline=None)
@given(ROW_AMOUNTS, st.sampled_from(("PLN", "EUR")), st.booleans())
def test_a_sales_row_puts_each_rates_amounts_in_its_fields(
    amounts: list[tuple[str, Decimal, Decimal]], currency: str, purchase_not_deductible: bool
) -> None:
    row = build_row(_entry(1, amounts, currency), side=SALES, lp=1, rules=_rules)
    assert row.net_pln == sum((a.net_pln for a in row.amounts), Decimal(0))
    placed = {POLAND_2026.rate(code).jpk_net_field for code, _, _ in amounts} - {None}
    # Every net lands in its rate's field (np I and np II share K_11); oo has none.
    expected_net = sum(
        (a.net_pln for a in row.amounts if POLAND_2026.rate(a.rate).jpk_net_field), Decimal(0)
    )
    assert sum((row.k[f] for f in placed), Decimal(0)) == expected_net
    purchase = build_row(
        _marked(_entry(2, amounts, currency), purchase_not_deductible),
        side=PURCHASE,
        lp=1,
        rules=_rules,
    )
    if purchase_not_deductible:
        assert purchase.k == {} and not purchase.in_jpk
    else:
        taxed = [a for a in purchase.amounts if POLAND_2026.rate(a.rate).bears_vat]
        assert purchase.k.get("K_43", Decimal(0)) == sum((a.vat_pln for a in taxed), Decimal(0))
    out = io.BytesIO()
    write_jpk(
        out,
        header=JpkHeader(
            year=2026, month=11, tax_office="1471", created_at=datetime(2026, 12, 1, tzinfo=UTC)
        ),
        taxpayer=Taxpayer(nip="5260250274", name="Firma", email="a@b.pl"),
        declaration=compute_declaration(row.k, purchase.k),
        sales=[row],
        purchases=[purchase],
    )
    assert validate_jpk(out.getvalue()) == []


def _marked(entry: RegisterEntry, non_deductible: bool) -> RegisterEntry:
    mark = VatMark(document_id=entry.document_id, client_id=1, non_deductible=non_deductible)
    return attrs.evolve(entry, mark=mark)
