"""The document form in the browser (no JavaScript): create, recalculate, edit, delete, errors."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Counterparty, Document, DocumentLine, Party, Product
from cabinet_core.storage import DocumentQuery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from web_support import World, csrf_of, login

SELLER = {
    "counterparty_id": "new",
    "party.kind": "company",
    "party.name": "Dostawca GmbH",
    "party.vat_eu": "DE136695976",
    "party.address.line1": "Hauptstraße 1",
    "party.address.postal_code": "10115",
    "party.address.city": "Berlin",
    "party.address.country": "DE",
}


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """The form runs on SQLite and on PostgreSQL (32-bit ids, NUMERIC money, NUL-free text)."""
    return database_urls


def cost_invoice_form(web: TestClient, **overrides: str) -> dict[str, str]:
    """A EUR cost invoice with three lines at 23 %, 8 % and exempt."""
    form = {
        "csrf_token": csrf_of(web, "/documents/new?type=cost_invoice"),
        "doc_type": "cost_invoice",
        "issue_date": "2026-11-16",
        "sale_date": "2026-11-16",
        "receipt_date": "2026-11-18",
        "due_date": "2026-11-30",
        "currency": "EUR",
        "language": "pl",
        "payment_method": "6",
        "payment_status": "unpaid",
        "extra.seller_invoice_number": "RE-2026-0042",
        "lines.0.name": "Beratung",
        "lines.0.quantity": "2",
        "lines.0.unit": "h",
        "lines.0.unit_price": "500,00",
        "lines.0.vat_rate": "23",
        "lines.1.name": "Bücher",
        "lines.1.quantity": "1",
        "lines.1.unit": "szt.",
        "lines.1.unit_price": "500",
        "lines.1.vat_rate": "8",
        "lines.2.name": "Schulung",
        "lines.2.quantity": "1",
        "lines.2.unit": "szt.",
        "lines.2.unit_price": "200.00",
        "lines.2.vat_rate": "zw",
        "action": "save",
        **SELLER,
    }
    form.update(overrides)
    return form


def documents(cabinet: Cabinet) -> list[Document]:
    return list(cabinet.documents.list(Actor.system(), DocumentQuery(limit=100)).items)


def test_new_eur_cost_invoice_is_saved_with_server_totals_and_pln_vat(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    form = client_web.get("/documents/new?type=cost_invoice")
    assert form.status_code == 200
    assert 'name="lines.0.unit_price"' in form.text
    assert 'data-test="save-submit"' in form.text
    data = cost_invoice_form(client_web, payment_status="partially_paid")
    response = client_web.post("/documents/new", data=data)
    assert response.status_code == 200, response.text
    match = re.fullmatch(r"/documents/(\d+)", response.url.path)
    assert match, response.url
    [saved] = documents(cabinet)
    assert saved.id == int(match.group(1))
    assert saved.status == "draft"
    assert saved.payment_status == "partially_paid"  # the client states it for a received invoice
    assert saved.version == 1  # one write: the new counterparty is linked in the same save
    assert saved.seller is not None and saved.seller.name == "Dostawca GmbH"
    assert saved.buyer is not None and saved.buyer.nip == "5250000110"  # the client itself
    assert saved.totals is not None
    assert (saved.totals.net, saved.totals.vat, saved.totals.gross) == (
        Decimal("1700.00"),
        Decimal("270.00"),
        Decimal("1970.00"),
    )
    # 1000 EUR × 4.2512 × 23 % = 977.78 PLN and 500 EUR × 4.2512 × 8 % = 170.05 PLN.
    assert saved.totals.vat_pln == Decimal("1147.83")
    assert saved.exchange_rate is not None
    assert saved.exchange_rate.effective_date == date(2026, 11, 13)  # the business day before
    page = response.text
    assert 'data-test="total-vat-pln">1147,83' in page.replace("\xa0", "")
    assert "13.11.2026" in page and saved.exchange_rate.table_no in page
    assert "4,2512" in page
    assert "RE-2026-0042" in page
    # The new counterparty was saved to the client's list and linked.
    [counterparty] = cabinet.counterparties.list(Actor.of(world.client_user), world.client.id).items
    assert counterparty.name == "Dostawca GmbH"
    assert counterparty.address.country == "DE"
    assert saved.counterparty_id == counterparty.id


def test_errors_are_shown_per_field_and_per_line_with_values_kept_and_nothing_saved(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    form = cost_invoice_form(
        client_web,
        **{
            "lines.1.unit_price": "abc",
            "lines.2.quantity": "0",
            "party.nip": "1234567890",
            "issue_date": "16.11.2026",
        },
    )
    response = client_web.post("/documents/new", data=form)
    assert response.status_code == 422
    page = response.text
    assert 'data-error-for="lines.1.unit_price"' in page
    assert 'data-error-for="party.nip"' in page
    assert 'data-error-for="issue_date"' in page
    assert 'value="abc"' in page and 'value="Beratung"' in page and 'value="16.11.2026"' in page
    assert documents(cabinet) == []
    assert cabinet.counterparties.list(Actor.of(world.client_user), world.client.id).total == 0
    # Once readable, the service's rules answer at the line: a zero quantity.
    fixed = {**form, "lines.1.unit_price": "500", "party.nip": "", "issue_date": "2026-11-16"}
    response = client_web.post("/documents/new", data=fixed)
    assert response.status_code == 422
    assert 'data-error-for="lines.2.quantity"' in response.text
    assert documents(cabinet) == []
    assert cabinet.counterparties.list(Actor.of(world.client_user), world.client.id).total == 0


def test_recalculate_and_add_line_without_javascript_keep_the_form(
    cabinet: Cabinet, client_web: TestClient
) -> None:
    form = cost_invoice_form(client_web, action="recalculate")
    response = client_web.post("/documents/new", data=form)
    assert response.status_code == 200
    assert 'data-test="total-gross">' in response.text
    assert "1970,00" in response.text.replace("\xa0", "")
    added = client_web.post("/documents/new", data={**form, "action": "add_line"})
    assert 'name="lines.3.name"' in added.text
    removed = client_web.post("/documents/new", data={**form, "action": "remove:0"})
    assert 'value="Beratung"' not in removed.text
    assert 'name="lines.2.name"' not in removed.text
    assert documents(cabinet) == []


def test_pick_from_the_catalogue_and_save_a_line_to_it(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    assert world.client.id is not None
    actor = Actor.of(world.client_user)
    product = cabinet.products.create(
        actor,
        Product(
            client_id=world.client.id,
            name="Abonament",
            unit="mies.",
            unit_price=Decimal("99.00"),
            vat_rate="23",
        ),
    )
    buyer = cabinet.counterparties.create(
        actor, Counterparty(client_id=world.client.id, name="Kupiec S.A.", nip="9510000239")
    )
    token = csrf_of(client_web, "/documents/new?type=proforma")
    form = {
        "csrf_token": token,
        "doc_type": "proforma",
        "issue_date": "2026-11-20",
        "sale_date": "2026-11-20",
        "currency": "PLN",
        "language": "pl",
        "payment_method": "6",
        "counterparty_id": str(buyer.id),
        "lines.0.product_id": str(product.id),
        "lines.0.quantity": "3",
        "lines.1.name": "Wdrożenie",
        "lines.1.unit": "usł.",
        "lines.1.unit_price": "1000",
        "lines.1.vat_rate": "23",
        "lines.1.save_product": "true",
        "action": "save",
    }
    response = client_web.post("/documents/new", data=form)
    assert response.status_code == 200, response.text
    [saved] = documents(cabinet)
    assert saved.buyer is not None and saved.buyer.name == "Kupiec S.A."
    assert saved.lines[0].name == "Abonament"
    assert saved.lines[0].product_id == product.id
    assert saved.lines[0].unit_price == Decimal("99.00")
    assert saved.totals is not None and saved.totals.net == Decimal("1297.00")
    names = sorted(p.name for p in cabinet.products.list(actor, world.client.id).items)
    assert names == ["Abonament", "Wdrożenie"]


def test_edit_a_draft_and_delete_it(cabinet: Cabinet, client_web: TestClient, world: World) -> None:
    client_web.post("/documents/new", data=cost_invoice_form(client_web))
    [saved] = documents(cabinet)
    edit = client_web.get(f"/documents/{saved.id}/edit")
    assert edit.status_code == 200
    assert 'value="Beratung"' in edit.text
    form = cost_invoice_form(
        client_web,
        version=str(saved.version),
        counterparty_id=str(saved.counterparty_id),
        **{"lines.0.unit_price": "600"},
    )
    response = client_web.post(f"/documents/{saved.id}/edit", data=form)
    assert response.url.path == f"/documents/{saved.id}"
    [updated] = documents(cabinet)
    assert updated.totals is not None and updated.totals.net == Decimal("1900.00")
    # A stale form (the version it was opened at is gone) is refused, not silently merged.
    stale = client_web.post(f"/documents/{saved.id}/edit", data=form)
    assert stale.status_code == 409
    token = csrf_of(client_web, f"/documents/{saved.id}")
    deleted = client_web.post(f"/documents/{saved.id}/delete", data={"csrf_token": token})
    assert deleted.url.path == "/documents"
    assert documents(cabinet) == []


def test_staff_choose_the_client_first(cabinet: Cabinet, web: TestClient, world: World) -> None:
    login(web, world.manager.email)
    choice = web.get("/documents/new?type=proforma")
    assert 'data-test="choose-client"' in choice.text
    assert "Alfa sp. z o.o." in choice.text
    assert "Beta s.c." not in choice.text  # not the manager's client
    form = web.get(f"/documents/new?type=proforma&client_id={world.client.id}")
    assert form.status_code == 200
    assert f'name="client_id" value="{world.client.id}"' in form.text
    assert web.get(
        f"/documents/new?type=proforma&client_id={world.other_client.id}"
    ).status_code in (
        403,
        404,
    )


def test_an_accountant_reads_and_approves_but_is_offered_no_writing(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    assert world.client.id is not None
    draft = cabinet.documents.create(
        Actor.of(world.client_user),
        Document(
            client_id=world.client.id,
            doc_type="proforma",
            issue_date=date(2026, 11, 2),
            buyer=Party(name="Ktoś"),
            lines=(DocumentLine(name="X", unit_price=Decimal("1")),),
        ),
    )
    login(web, world.accountant.email)
    assert web.get("/documents/new?type=proforma").status_code == 403
    assert 'data-test="new-' not in web.get("/documents").text
    page = web.get(f"/documents/{draft.id}").text
    assert "Ktoś" in page
    for control in ('data-test="edit"', 'data-test="delete"', 'data-test="attachment-form"'):
        assert control not in page


def test_another_clients_document_is_not_found(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    assert world.other_client.id is not None
    other = cabinet.documents.create(
        Actor.of(world.other_user),
        Document(
            client_id=world.other_client.id,
            doc_type="proforma",
            issue_date=date(2026, 11, 2),
            buyer=Party(name="Ktoś"),
            lines=(DocumentLine(name="X", unit_price=Decimal("1")),),
        ),
    )
    login(web, world.client_user.email)
    token = csrf_of(web, "/documents")
    for path in (f"/documents/{other.id}", f"/documents/{other.id}/edit"):
        assert web.get(path).status_code == 404
    assert web.post(f"/documents/{other.id}/delete", data={"csrf_token": token}).status_code == 404
    assert len(documents(cabinet)) == 1


def test_every_document_type_has_a_form(cabinet: Cabinet, client_web: TestClient) -> None:
    for key, document_type in cabinet.document_types.items():
        if document_type.from_template:
            continue  # made on its own form (test_a_contract_is_made_only_from_a_template)
        response = client_web.get(f"/documents/new?type={key}")
        assert response.status_code == 200, key
        for spec in document_type.fields:
            assert f'name="extra.{spec.name}"' in response.text, (key, spec.name)
        assert ('name="lines.0.unit_price"' in response.text) == document_type.has_lines
    assert client_web.get("/documents/new?type=nope").status_code == 404


def test_a_contract_is_made_only_from_a_template(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    # The generic form sends a contract to the form that makes it from a template.
    shown = client_web.get("/documents/new?type=contract", follow_redirects=False)
    assert shown.status_code in (302, 303)
    assert shown.headers["location"].endswith("/contracts/new")
    assert (
        client_web.get("/documents/new?type=contract&from=1", follow_redirects=False)
        .headers["location"]
        .endswith("/contracts/new")
    )
    # A hand-made post of the generic form is refused, nothing saved.
    spec = cabinet.document_type("contract").field("contract_kind")
    form = {
        "csrf_token": csrf_of(client_web, "/documents/new?type=vat_invoice"),
        "doc_type": "contract",
        "issue_date": "2026-11-02",
        "language": "pl",
        "counterparty_id": "",
        "party.kind": "person",
        "party.name": "Jan Zleceniobiorca",
        "extra.contract_kind": next(iter(spec.choices)),
        "extra.subject": "Prace projektowe",
        "extra.date_from": "2026-11-03",
        "extra.amount": "5 000,00",
        "extra.contractor_pesel": "44051401359",
        "action": "save",
    }
    refused = client_web.post("/documents/new", data=form)
    assert refused.status_code == 422
    assert "Umowę tworzy się z wzoru" in refused.text
    assert documents(cabinet) == []


def test_only_the_clients_templates_are_offered_and_the_default_preselected(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    cabinet.clients.update(
        Actor.system(),
        attrs.evolve(world.client, allowed_templates=("modern",), default_template="modern"),
    )
    form = client_web.get("/documents/new?type=vat_invoice").text
    assert '<option value="modern" selected>' in form
    assert 'value="classic"' not in form
    assert 'name="template"' not in client_web.get("/documents/new?type=cost_invoice").text
    data = {
        "csrf_token": csrf_of(client_web, "/documents/new?type=vat_invoice"),
        "doc_type": "vat_invoice",
        "issue_date": "2026-11-20",
        "sale_date": "2026-11-20",
        "currency": "PLN",
        "language": "pl+en",
        "payment_method": "6",
        "counterparty_id": "",
        "party.name": "Gamma S.A.",
        "party.nip": "9510000239",
        "lines.0.name": "Usługa",
        "lines.0.quantity": "1",
        "lines.0.unit_price": "100",
        "lines.0.vat_rate": "23",
        "template": "classic",
        "action": "save",
    }
    refused = client_web.post("/documents/new", data=data)
    assert refused.status_code == 422
    assert 'data-error-for="template"' in refused.text
    assert documents(cabinet) == []
    client_web.post("/documents/new", data={**data, "template": "modern"})
    [saved] = documents(cabinet)
    assert (saved.template, saved.language) == ("modern", "pl+en")


FORM_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
NUMBER_TEXT = st.one_of(
    FORM_TEXT,
    st.sampled_from(["1e40", "NaN", "-Infinity", "0.0000001", "-5", "1 234,56", "99999999999999"]),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.fixed_dictionaries(
        {},
        optional={
            "issue_date": st.one_of(FORM_TEXT, st.just("2026-11-16")),
            "currency": st.one_of(FORM_TEXT, st.sampled_from(["EUR", "USD", "PLN"])),
            "language": FORM_TEXT,
            "payment_method": FORM_TEXT,
            "payment_status": FORM_TEXT,
            "counterparty_id": st.one_of(FORM_TEXT, st.sampled_from(["new", "7", "99999999999"])),
            "party.kind": FORM_TEXT,
            "party.name": FORM_TEXT,
            "party.nip": FORM_TEXT,
            "template": FORM_TEXT,
            "extra.seller_invoice_number": FORM_TEXT,
            "lines.0.name": FORM_TEXT,
            "lines.0.quantity": NUMBER_TEXT,
            "lines.0.unit_price": NUMBER_TEXT,
            "lines.0.vat_rate": FORM_TEXT,
            "lines.0.product_id": FORM_TEXT,
            "lines.99999.unit_price": NUMBER_TEXT,
            "action": st.sampled_from(["save", "submit", "recalculate", "add_line", "remove:x"]),
            "version": FORM_TEXT,
        },
    )
)
def test_fuzzed_document_form_never_causes_a_500(
    client_web: TestClient, values: dict[str, str]
) -> None:
    token = csrf_of(client_web, "/documents")
    form = {"doc_type": "cost_invoice", **values, "csrf_token": token}
    response = client_web.post("/documents/new", data=form)
    assert response.status_code in (200, 409, 422), response.text


def test_a_correcting_invoice_keeps_its_before_rows_through_the_form(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    assert world.client.id is not None
    correction = cabinet.documents.create(
        Actor.of(world.client_user),
        Document(
            client_id=world.client.id,
            doc_type="correcting_invoice",
            issue_date=date(2026, 11, 25),
            buyer=Party(name="Gamma S.A.", nip="9510000239"),
            lines=(
                DocumentLine(
                    name="Usługa", quantity=Decimal("2"), unit_price=Decimal("100"), before=True
                ),
                DocumentLine(name="Usługa", quantity=Decimal("1"), unit_price=Decimal("100")),
            ),
            extra={"corrected_number": "FV/1/11/2026", "corrected_issue_date": "2026-11-20"},
        ),
    )
    edit = client_web.get(f"/documents/{correction.id}/edit").text
    assert re.search(r'name="lines\.0\.before" value="true" checked', edit)
    assert not re.search(r'name="lines\.1\.before" value="true" checked', edit)
    form = {
        "csrf_token": csrf_of(client_web, f"/documents/{correction.id}/edit"),
        "doc_type": "correcting_invoice",
        "version": str(correction.version),
        "issue_date": "2026-11-25",
        "currency": "PLN",
        "language": "pl",
        "payment_method": "6",
        "counterparty_id": "",
        "party.name": "Gamma S.A.",
        "party.nip": "9510000239",
        "extra.corrected_number": "FV/1/11/2026",
        "extra.corrected_issue_date": "2026-11-20",
        "extra.reason": "Zwrot jednej sztuki",
        "lines.0.name": "Usługa",
        "lines.0.quantity": "2",
        "lines.0.unit_price": "100",
        "lines.0.vat_rate": "23",
        "lines.0.before": "true",
        "lines.1.name": "Usługa",
        "lines.1.quantity": "0",
        "lines.1.unit_price": "100",
        "lines.1.vat_rate": "23",
        "action": "save",
    }
    saved = client_web.post(f"/documents/{correction.id}/edit", data=form)
    assert saved.url.path == f"/documents/{correction.id}"
    stored = cabinet.documents.get(Actor.system(), correction.id)
    assert [line.before for line in stored.lines] == [True, False]
    assert stored.totals is not None and stored.totals.gross == Decimal("-246.00")
    assert stored.extra["reason"] == "Zwrot jednej sztuki"


def test_the_nbp_out_of_reach_keeps_the_form(
    cabinet: Cabinet, client_web: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cabinet_core.fx import RateUnavailable

    def unavailable(currency: str, tax_point: date) -> Any:
        raise RateUnavailable("The exchange rate is not available")

    monkeypatch.setattr(cabinet.rate_provider, "rate_for", unavailable)
    form = cost_invoice_form(client_web)
    preview = client_web.post("/documents/new", data={**form, "action": "recalculate"})
    assert preview.status_code == 200
    assert 'data-test="total-gross">' in preview.text  # totals without the PLN part
    assert 'data-test="total-vat-pln"' not in preview.text
    saving = client_web.post("/documents/new", data=form)
    assert saving.status_code == 503
    assert 'value="Beratung"' in saving.text and 'data-test="form-errors"' in saving.text
    assert documents(cabinet) == []
