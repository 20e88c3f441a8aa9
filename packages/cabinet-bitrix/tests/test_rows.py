"""Product-row prices as the documentation defines them: ``price`` includes the tax whatever
``taxIncluded`` says, and the net is ``price / (1 + rate)``. The expected values are the
documented examples (crm-item-productrow-add.md, -update.md, -set.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix.rows import (
    gross_row_price,
    net_unit_price,
    product_row,
    rows_match,
    same_prices,
)
from cabinet_core.entities import DocumentLine, PriceMode
from emulated import emulated_client
from hypothesis import given
from hypothesis import strategies as st

#: The answers of the documentation's examples (rows trimmed to the price fields).
DOCUMENTED_ROWS = [
    # crm-item-productrow-add.md: 80000 with 20 % tax included, 20 % discount.
    (
        {"price": 80000, "taxRate": 20, "taxIncluded": "Y", "discountRate": 20},
        Decimal("66666.67"),
    ),
    # crm-item-productrow-update.md: 90000 with 10 % tax included, 10 % discount.
    (
        {"price": 90000, "taxRate": 10, "taxIncluded": "Y", "discountRate": 10},
        Decimal("81818.18"),
    ),
    # crm-item-productrow-set.md: no tax, taxIncluded N: the price is the net.
    ({"price": 99999.99, "taxRate": None, "taxIncluded": "N"}, Decimal("99999.99")),
]


@pytest.mark.parametrize(("row", "exclusive"), DOCUMENTED_ROWS)
def test_the_net_of_a_documented_row_is_its_price_exclusive(row, exclusive):
    assert net_unit_price(row) == exclusive
    # taxIncluded=N does not make the price net: the same price, the same net.
    assert net_unit_price({**row, "taxIncluded": "N"}) == exclusive
    assert gross_row_price(row) == Decimal(str(row["price"])).quantize(Decimal("0.01"))


def test_a_net_priced_line_is_sent_with_its_tax_and_tax_included_n():
    line = DocumentLine(name="Obsługa księgowa", unit_price=Decimal("1000.00"), vat_rate="23")
    row = product_row(line, PriceMode.NET, 10)
    assert (row["price"], row["taxRate"], row["taxIncluded"]) == ("1230", 23, "N")
    gross = product_row(line, PriceMode.GROSS, 10)
    assert (gross["price"], gross["taxIncluded"]) == ("1000", "Y")
    exempt = product_row(
        DocumentLine(name="Szkolenie", unit_price=Decimal("500"), vat_rate="zw"), PriceMode.NET, 10
    )
    assert exempt["price"] == "500" and "taxRate" not in exempt


@pytest.mark.parametrize("mode", [PriceMode.NET, PriceMode.GROSS])
@pytest.mark.parametrize("rate", ["23", "8", "5", "0", "zw"])
def test_the_portal_computes_back_the_documents_price(mode, rate):
    # Through the emulator, which computes priceExclusive as the documentation's examples do.
    clock = VirtualClock()
    emulator = Emulator(clock=clock)
    line = DocumentLine(
        name="Usługa", unit_price=Decimal("10.01"), quantity=Decimal("3"), vat_rate=rate
    )
    with emulated_client(emulator, clock) as client:
        quote = client.call("crm.item.add", {"entityTypeId": 7, "fields": {}})["item"]["id"]
        (row,) = client.call(
            "crm.item.productrow.set",
            {"ownerType": "Q", "ownerId": quote, "productRows": [product_row(line, mode, 10)]},
        )["productRows"]
    assert same_prices(line, mode, row)
    if mode == PriceMode.NET:
        assert Decimal(str(row["priceExclusive"])) == Decimal("10.01")


@given(
    net=st.decimals(min_value=Decimal("0.01"), max_value=10**7, places=2),
    rate=st.sampled_from(["23", "8", "5", "0"]),
)
def test_a_net_price_survives_the_portal_keeping_cents_only(net, rate):
    # Even if the portal keeps the gross price to the cent only, the net read back is the same.
    line = DocumentLine(name="x", unit_price=net, vat_rate=rate)
    sent = Decimal(product_row(line, PriceMode.NET, 10)["price"])
    kept = {"price": sent.quantize(Decimal("0.01")), "taxRate": int(rate), "taxIncluded": "N"}
    assert net_unit_price(kept) == net


def test_rows_read_back_match_the_lines_only_when_each_row_is_the_lines_own():
    lines = [
        DocumentLine(name="Obsługa", unit_price=Decimal("100"), vat_rate="23"),
        DocumentLine(
            name="Zwolnione", quantity=Decimal("2"), unit_price=Decimal("9.5"), vat_rate="zw"
        ),
    ]
    # As the portal answers them (numbers, not strings; the net line's price includes tax).
    rows = [
        {"id": 7, "productName": "Obsługa", "price": 123, "quantity": 1, "taxRate": 23, "sort": 10},
        {
            "id": 8,
            "productName": "Zwolnione",
            "price": 9.5,
            "quantity": 2,
            "taxRate": None,
            "sort": 20,
        },
    ]
    assert rows_match(lines, PriceMode.NET, rows)
    assert rows_match(lines, PriceMode.NET, list(reversed(rows)))  # compared in sort order
    assert not rows_match(lines, PriceMode.NET, rows[:1])  # a row deleted in Bitrix24
    assert not rows_match(lines, PriceMode.NET, [*rows, {**rows[0], "id": 9, "sort": 30}])
    assert not rows_match(lines, PriceMode.NET, [{**rows[0], "price": 100}, rows[1]])
    assert not rows_match(lines, PriceMode.NET, [rows[0], {**rows[1], "quantity": 3}])
    assert not rows_match(lines, PriceMode.NET, [{**rows[0], "taxRate": 8}, rows[1]])
    assert not rows_match(lines, PriceMode.NET, [{**rows[0], "productName": "Inna"}, rows[1]])
    # A gross-priced document states the gross price: 123 is not a gross 100.
    assert not rows_match(lines, PriceMode.GROSS, rows)
