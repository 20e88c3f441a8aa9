"""cabinet.counterparties and cabinet.products: what a client can enter (company or person, NIP,
VAT-EU number, address with country; unit, price, currency, VAT rate) and what the storage
could not hold (over-long texts are field errors on both databases, never a database error)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from cabinet_core.entities import (
    Address,
    Counterparty,
    Document,
    DocumentLine,
    Party,
    PartyKind,
    Product,
)
from cabinet_core.errors import NotFound, ValidationError
from fixtures_services import World


def counterparty(world: World, **changes: object) -> Counterparty:
    values: dict[str, object] = {
        "client_id": world.client_id(world.client_a),
        "name": "Kontrahent sp. z o.o.",
    }
    values.update(changes)
    return Counterparty(**values)  # type: ignore[arg-type]


def errors_of(caught: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in caught.value.errors]


def test_company_person_nip_vat_eu_and_country_are_normalised(world: World) -> None:
    alice = world.actor(world.alice)
    company = world.cabinet.counterparties.create(
        alice,
        counterparty(
            world,
            nip="PL 526-000-12-46",
            address=Address(line1="ul. Długa 5", postal_code="80-001", city="Gdańsk", country="pl"),
        ),
    )
    assert company.nip == "5260001246" and company.address.country == "PL"
    german = world.cabinet.counterparties.create(
        alice,
        counterparty(
            world,
            name="Müller GmbH",
            vat_eu="de 136.695.976",
            address=Address(line1="Hauptstraße 5", city="Berlin", country="DE"),
        ),
    )
    assert german.vat_eu == "DE136695976" and german.nip is None
    person = world.cabinet.counterparties.create(
        alice, counterparty(world, kind=PartyKind.PERSON, name="Jan Kowalski", nip="")
    )
    assert person.kind is PartyKind.PERSON and person.nip is None and person.vat_eu is None
    blank = world.cabinet.counterparties.create(
        alice, counterparty(world, address=Address(city="Kraków", country=" "))
    )
    assert blank.address.country == "PL"
    assert world.cabinet.counterparties.get(alice, german.id or 0) == german


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"nip": "1234567890"}, [("nip", "nip_checksum")]),
        ({"vat_eu": "123456789"}, [("vat_eu", "invalid")]),
        ({"vat_eu": "US123456789"}, [("vat_eu", "invalid")]),
        ({"vat_eu": "DE1"}, [("vat_eu", "invalid")]),
        ({"vat_eu": "DE123456789"}, [("vat_eu", "checksum")]),
        ({"address": Address(country="XX")}, [("address.country", "invalid")]),
        ({"vat_eu": "PL1234567890"}, [("vat_eu", "nip_checksum")]),
        ({"address": Address(country="Polska")}, [("address.country", "invalid")]),
        ({"address": Address(country="P1")}, [("address.country", "invalid")]),
        ({"name": " "}, [("name", "required")]),
        ({"name": "x" * 301}, [("name", "too_long")]),
        ({"email": "a@b.pl" + "x" * 320}, [("email", "too_long")]),
    ],
    ids=[
        "nip",
        "vat-eu-no-prefix",
        "vat-eu-not-eu",
        "vat-eu-short",
        "vat-eu-checksum",
        "country-xx",
        "vat-eu-pl-checksum",
        "country-name",
        "country-digit",
        "name-blank",
        "name-too-long",
        "email-too-long",
    ],
)
def test_bad_counterparties_are_field_errors(
    world: World, changes: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    alice = world.actor(world.alice)
    with pytest.raises(ValidationError) as caught:
        world.cabinet.counterparties.create(alice, counterparty(world, **changes))
    assert [(field, code) for field, code in errors_of(caught)] == expected
    page = world.cabinet.counterparties.list(alice, None)
    assert page.total == 0


def test_products_with_unit_price_currency_and_rate(world: World) -> None:
    alice = world.actor(world.alice)
    product = world.cabinet.products.create(
        alice,
        Product(
            client_id=0,
            name="Konsultacja",
            unit="godz.",
            unit_price=Decimal("250.00"),
            currency="EUR",
            vat_rate="np II",
            gtu="GTU_12",
        ),
    )
    assert product.client_id == world.client_id(world.client_a)
    assert (product.unit, product.unit_price, product.currency, product.vat_rate) == (
        "godz.",
        Decimal("250.00"),
        "EUR",
        "np II",
    )
    with pytest.raises(ValidationError) as caught:
        world.cabinet.products.create(
            alice,
            Product(client_id=0, name="Usługa", unit="x" * 21, currency="GBP", vat_rate="22"),
        )
    assert sorted(errors_of(caught)) == [
        ("currency", "unsupported"),
        ("unit", "too_long"),
        ("vat_rate", "unknown_vat_rate"),
    ]


def test_over_long_document_texts_are_field_errors(world: World) -> None:
    alice = world.actor(world.alice)
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="cost_invoice",
        issue_date=date(2026, 11, 20),
        seller=Party(name="D" * 301, nip="5260001246"),
        lines=(DocumentLine(name="L" * 501, unit="szt.", unit_price=Decimal("1.00")),),
        extra={"seller_invoice_number": "S/1/2026"},
    )
    with pytest.raises(ValidationError) as caught:
        world.cabinet.documents.create(alice, document)
    assert errors_of(caught) == [("seller.name", "too_long"), ("lines.0.name", "too_long")]
    assert caught.value.errors[0].params == {"limit": 300}


def test_pickers_cost_one_statement_unless_the_page_is_full(world: World) -> None:
    alice = world.actor(world.alice)
    for number in range(5):
        world.cabinet.counterparties.create(
            alice, counterparty(world, name=f"Firma {number}", nip=None)
        )
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    engine = world.cabinet.store.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        found = world.cabinet.counterparties.list(alice, None, search="firma")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert found.total == 5 and len(found.items) == 5
    # The client's own user needs no client lookup, and a partial page no count.
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1, seen
    full = world.cabinet.counterparties.list(alice, None, limit=2, offset=2)
    assert (full.total, [c.name for c in full.items]) == (5, ["Firma 2", "Firma 3"])
    beyond = world.cabinet.counterparties.list(alice, None, offset=10)
    assert (beyond.total, beyond.items) == (5, ())
    # Staff still go through the client check: another manager's client does not exist.
    with pytest.raises(NotFound):
        world.cabinet.counterparties.list(
            world.actor(world.other_manager), world.client_id(world.client_a)
        )
    # A client's user asking for another client still gets its own.
    own = world.cabinet.counterparties.list(alice, world.client_id(world.client_b))
    assert own.total == 5
    products = world.cabinet.products.list(alice, None)
    assert (products.total, products.items) == (0, ())
