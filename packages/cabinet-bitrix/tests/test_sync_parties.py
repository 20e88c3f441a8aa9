"""Clients and counterparties as companies and contacts with requisites and addresses, found
again by origin (no duplicates), and documents tied to them."""

from __future__ import annotations

import attrs
import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.parties import counterparty_record, split_name
from cabinet_core.entities import Address, Counterparty, OutboxMessage, PartyKind
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(clock=clock)


def make_backend(emulator, clock, **settings):
    client = emulated_client(emulator, clock)
    return BitrixBackend(
        BitrixSettings(webhook_url=emulator.webhook_url, **settings), client=client
    )


def message(topic, entity, entity_id):
    return OutboxMessage(id=1, topic=topic, entity=entity, entity_id=entity_id)


def companies(emulator):
    return list(emulator.portal.items[4].values())


def contacts(emulator):
    return list(emulator.portal.items[3].values())


@pytest.fixture
def counterparty(cabinet, document):
    with cabinet.store.transaction() as tx:
        return tx.add_counterparty(
            Counterparty(
                client_id=document.client_id,
                name="Jaźń S.A.",
                nip="1234563218",
                address=Address(line1="ul. Długa 5", postal_code="00-001", city="Warszawa"),
                email="biuro@jazn.example",
            )
        )


def test_a_client_becomes_a_company_with_a_polish_requisite_and_address(
    cabinet, emulator, clock, document
):
    backend = make_backend(emulator, clock)
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("client.created", "client", document.client_id)
    )
    (company,) = companies(emulator)
    assert company["title"] == "Zażółć Sp. z o.o."
    assert company["originatorId"] == "cabinet"
    assert company["originId"] == f"cabinet-client-{document.client_id}"
    (requisite,) = emulator.portal.requisites.values()
    assert requisite["ENTITY_TYPE_ID"] == "4" and requisite["ENTITY_ID"] == str(company["id"])
    assert requisite["PRESET_ID"] == "1"  # the Polish company preset
    assert requisite["RQ_VAT_ID"] == "5260250274"  # there is no RQ_NIP (bitrix24.md §3.7)
    assert "RQ_NIP" not in requisite
    assert requisite["RQ_COMPANY_NAME"] == "Zażółć Sp. z o.o."
    assert requisite["XML_ID"] == f"cabinet-client-{document.client_id}"
    assert requisite["RQ_ADDR"]["6"]["CITY"] == "Łódź"


def test_the_nip_field_is_a_setting(cabinet, emulator, clock, document):
    backend = make_backend(emulator, clock, nip_field="RQ_INN")
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("client.created", "client", document.client_id)
    )
    (requisite,) = emulator.portal.requisites.values()
    assert requisite["RQ_INN"] == "5260250274"
    assert "RQ_VAT_ID" not in requisite
    with pytest.raises(ValueError, match="CABINET_BITRIX_NIP_FIELD"):
        BitrixSettings(webhook_url=emulator.webhook_url, nip_field="RQ_NIP")


def test_an_update_changes_the_same_company_requisite_and_address(
    cabinet, emulator, clock, document
):
    backend = make_backend(emulator, clock)
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("client.created", "client", document.client_id)
    )
    with cabinet.store.transaction() as tx:
        client = tx.get_client(document.client_id)
        tx.update_client(
            attrs.evolve(
                client, name="Zażółć S.A.", address=Address(city="Kraków", line1="Rynek 1")
            )
        )
    # A second backend (another worker process) knows nothing cached.
    make_backend(emulator, clock).deliver(
        cabinet.sync_port("bitrix24"), message("client.updated", "client", document.client_id)
    )
    (company,) = companies(emulator)
    assert company["title"] == "Zażółć S.A."
    (requisite,) = emulator.portal.requisites.values()
    assert requisite["RQ_COMPANY_NAME"] == "Zażółć S.A."
    assert requisite["RQ_ADDR"]["6"]["CITY"] == "Kraków"
    assert requisite["RQ_ADDR"]["6"]["ADDRESS_1"] == "Rynek 1"


def test_a_person_counterparty_becomes_a_contact(cabinet, emulator, clock, document):
    with cabinet.store.transaction() as tx:
        person = tx.add_counterparty(
            Counterparty(client_id=document.client_id, kind=PartyKind.PERSON, name="Jan Kowalski")
        )
    make_backend(emulator, clock).deliver(
        cabinet.sync_port("bitrix24"), message("counterparty.created", "counterparty", person.id)
    )
    (contact,) = contacts(emulator)
    assert (contact["name"], contact["lastName"]) == ("Jan", "Kowalski")
    assert contact["originId"] == f"cabinet-counterparty-{person.id}"
    (requisite,) = emulator.portal.requisites.values()
    assert requisite["ENTITY_TYPE_ID"] == "3"
    assert requisite["PRESET_ID"] == "2"  # the person preset
    assert (requisite["RQ_FIRST_NAME"], requisite["RQ_LAST_NAME"]) == ("Jan", "Kowalski")
    assert companies(emulator) == []


class LostAnswers(httpx.BaseTransport):
    """The portal does the work, then the connection drops before the answer arrives."""

    def __init__(self, inner: httpx.BaseTransport, marker: bytes) -> None:
        self.inner = inner
        self.marker = marker
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.lost and self.marker in request.content:
            self.lost += 1
            raise httpx.ReadTimeout("connection dropped after the write", request=request)
        return response


def test_a_create_whose_answer_was_lost_is_not_repeated(cabinet, emulator, clock, counterparty):
    backend = make_backend(emulator, clock)
    lossy = LostAnswers(emulator.transport(), b"crm.requisite.add")
    backend.client._http._transport = lossy
    backend.deliver(
        cabinet.sync_port("bitrix24"),
        message("counterparty.created", "counterparty", counterparty.id),
    )
    assert lossy.lost == 1
    (company,) = companies(emulator)
    assert company["originId"] == f"cabinet-counterparty-{counterparty.id}"
    assert len(emulator.portal.requisites) == 1


def test_documents_link_to_their_counterparty_and_client(
    cabinet, emulator, clock, document, counterparty
):
    with cabinet.store.transaction() as tx:
        document = tx.update_document(attrs.evolve(document, counterparty_id=counterparty.id))
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("document.created", "document", document.id)
    )
    # The item, both companies, their requisites and addresses: one lookup, one write batch.
    assert [name for name, _ in emulator.requests] == ["batch", "batch"]
    (item,) = emulator.portal.items[1038].values()
    by_origin = {c["originId"]: c["id"] for c in companies(emulator)}
    assert item["companyId"] == by_origin[f"cabinet-counterparty-{counterparty.id}"]
    assert item["mycompanyId"] == by_origin[f"cabinet-client-{document.client_id}"]
    assert len(emulator.portal.requisites) == 2
    # Later documents reuse the companies.
    with cabinet.store.transaction() as tx:
        second = tx.add_document(attrs.evolve(document, id=None, number="FV/2/11/2026"))
    make_backend(emulator, clock, entity_types={"vat_invoice": 1038}).deliver(
        cabinet.sync_port("bitrix24"), message("document.created", "document", second.id)
    )
    assert len(companies(emulator)) == 2
    items = sorted(emulator.portal.items[1038].values(), key=lambda i: i["id"])
    assert items[1]["companyId"] == item["companyId"]


def test_a_party_shared_by_many_documents_is_created_once(cabinet, emulator, clock, document):
    with cabinet.store.transaction() as tx:
        documents = [document] + [
            tx.add_document(attrs.evolve(document, id=None, number=f"FV/{n}/11/2026"))
            for n in range(2, 40)
        ]
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    outcome = backend.push_documents(cabinet.sync_port("bitrix24"), documents)
    assert all(isinstance(v, int) for v in outcome.values())
    (company,) = companies(emulator)
    assert {i["mycompanyId"] for i in emulator.portal.items[1038].values()} == {company["id"]}


def test_records_and_names():
    assert split_name("Jan Maria Kowalski") == ("Jan Maria", "Kowalski")
    assert split_name("Kowalski") == ("", "Kowalski")
    person = Counterparty(id=5, client_id=1, kind=PartyKind.PERSON, name="Ewa Nowak")
    assert counterparty_record(person, "cab").origin == "cab-counterparty-5"
    assert counterparty_record(person, "cab").entity_type_id == 3


def test_a_document_push_whose_answer_was_lost_creates_nothing_twice(
    cabinet, emulator, clock, document, counterparty
):
    with cabinet.store.transaction() as tx:
        document = tx.update_document(attrs.evolve(document, counterparty_id=counterparty.id))
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    # The batch adding both companies, their requisites, the item and its rows runs; its
    # answer is lost. The retry looks everything up again before writing.
    lossy = LostAnswers(emulator.transport(), b"crm.item.add")
    backend.client._http._transport = lossy
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("document.created", "document", document.id)
    )
    assert lossy.lost == 1
    assert len(companies(emulator)) == 2
    assert len(emulator.portal.requisites) == 2
    (item,) = emulator.portal.items[1038].values()
    assert len(emulator.portal.rows[("T40e", item["id"])]) == 3
    by_origin = {c["originId"]: c["id"] for c in companies(emulator)}
    assert item["companyId"] == by_origin[f"cabinet-counterparty-{counterparty.id}"]


def test_a_fresh_sync_creates_the_party_once_then_writes_in_flight(
    cabinet, emulator, clock, document
):
    with cabinet.store.transaction() as tx:
        documents = [document] + [
            tx.add_document(attrs.evolve(document, id=None, number=f"FV/{n}/11/2026"))
            for n in range(2, 121)
        ]
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    outcome = backend.push_documents(cabinet.sync_port("bitrix24"), documents)
    assert all(isinstance(v, int) for v in outcome.values())
    # One lookup batch; one batch creating the client's company (3 commands) with the first
    # 23 documents; the other 97 (194 commands) in 4 batches sent several at a time.
    assert len(emulator.requests) == 6
    (company,) = companies(emulator)
    items = emulator.portal.items[1038].values()
    assert len(items) == 120
    assert {i["mycompanyId"] for i in items} == {company["id"]}


def test_without_client_tagging_items_name_only_the_counterparty(
    cabinet, emulator, clock, document, counterparty
):
    with cabinet.store.transaction() as tx:
        document = tx.update_document(attrs.evolve(document, counterparty_id=counterparty.id))
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038}, tag_client=False)
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("document.created", "document", document.id)
    )
    (item,) = emulator.portal.items[1038].values()
    assert not item.get("mycompanyId")
    (company,) = companies(emulator)
    assert item["companyId"] == company["id"]
    assert company["originId"] == f"cabinet-counterparty-{counterparty.id}"


def test_regon_and_krs_reach_the_requisite(cabinet, emulator, clock, document):
    """bitrix24.md §3.7: the Polish preset has RQ_REGON and RQ_KRS beside the tax id."""
    with cabinet.store.transaction() as tx:
        counterparty = tx.add_counterparty(
            Counterparty(
                client_id=document.client_id,
                name="Rejestr Sp. z o.o.",
                nip="1234563218",
                regon="123456785",
                krs="0000123456",
            )
        )
    backend = make_backend(emulator, clock)
    backend.deliver(
        cabinet.sync_port("bitrix24"),
        message("counterparty.created", "counterparty", counterparty.id),
    )
    (requisite,) = emulator.portal.requisites.values()
    assert (requisite["RQ_REGON"], requisite["RQ_KRS"]) == ("123456785", "0000123456")
