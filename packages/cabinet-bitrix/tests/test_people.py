"""The client's manager is the Responsible of its company and its documents' CRM items, found
by e-mail among the portal's users or by an admin's explicit mapping; handing the client to
another manager moves the company and the items (against the emulator)."""

from __future__ import annotations

import attrs
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.people import STATE_KEY, check_people
from cabinet_core.entities import OutboxMessage, Role, User
from emulated import emulated_client

PIOTR = "piotr.wisniewski@kancelaria.example"  # the emulated portal's user 2


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    emulator = Emulator(clock=clock)
    emulator.portal.users[3] = {
        "ID": "3",
        "ACTIVE": True,
        "NAME": "Ewa",
        "LAST_NAME": "Zielińska",
        "EMAIL": "ewa.zielinska@kancelaria.example",
        "ADMIN": False,
        "UF_DEPARTMENT": [1],
        "TIME_ZONE": "Europe/Warsaw",
    }
    return emulator


@pytest.fixture
def backend(emulator, clock):
    return BitrixBackend(
        BitrixSettings(webhook_url=emulator.webhook_url, entity_types={"vat_invoice": 1038}),
        client=emulated_client(emulator, clock),
    )


def manager(cabinet, email, name="Opiekun"):
    with cabinet.store.transaction() as tx:
        return tx.add_user(User(email=email, name=name, role=Role.MANAGER))


def assign(cabinet, client_id, user):
    with cabinet.store.transaction() as tx:
        client = tx.get_client(client_id)
        return tx.update_client(attrs.evolve(client, manager_id=user.id))


def company(emulator):
    (found,) = emulator.portal.items[4].values()
    return found


def item(emulator):
    (found,) = emulator.portal.items[1038].values()
    return found


def test_the_managers_portal_user_is_responsible_and_follows_a_reassignment(
    cabinet, emulator, backend, document
):
    port = cabinet.sync_port("bitrix24")
    piotr = manager(cabinet, PIOTR.upper())  # e-mails match whatever their case
    assign(cabinet, document.client_id, piotr)
    backend.push_document(port, document)
    assert item(emulator)["assignedById"] == 2
    assert company(emulator)["assignedById"] == 2

    # The client is handed to Ewa: client.updated carries the client with its new manager.
    ewa = manager(cabinet, "ewa.zielinska@kancelaria.example", "Ewa")
    client = assign(cabinet, document.client_id, ewa)
    assert client.manager_id == ewa.id
    backend.deliver(
        port,
        OutboxMessage(id=5, topic="client.updated", entity="client", entity_id=client.id),
    )
    assert company(emulator)["assignedById"] == 3
    assert item(emulator)["assignedById"] == 3
    # One lookup per e-mail while its answer is fresh.
    lookups = [p for m, p in emulator.requests if m == "user.get"]
    assert len(lookups) == 2


def test_an_explicit_mapping_wins_and_an_unknown_manager_changes_nothing(
    cabinet, emulator, backend, document
):
    port = cabinet.sync_port("bitrix24")
    stranger = manager(cabinet, "opiekun@gdzie-indziej.example")
    assign(cabinet, document.client_id, stranger)
    backend.push_document(port, document)
    # Nobody on the portal has that address: the portal's default (the webhook's user) stays.
    assert item(emulator)["assignedById"] == 1
    port.set_state(STATE_KEY, {str(stranger.id): 3})
    backend.push_document(port, document)
    assert item(emulator)["assignedById"] == 3


def test_a_mapping_is_checked():
    assert check_people({"4": "7"}) == {"4": 7}
    with pytest.raises(ValueError, match="cabinet user id"):
        check_people({"anna": 7})
    with pytest.raises(ValueError, match="Bitrix24 user id"):
        check_people({"4": "x"})
    with pytest.raises(ValueError, match="Bitrix24 user id"):
        check_people({"4": 0})


def test_an_admin_reassigning_a_client_queues_the_new_manager_for_the_crm(
    cabinet, emulator, backend, document
):
    from cabinet_core.entities import Actor, Client
    from cabinet_core.sync import decode_payload

    port = cabinet.sync_port("bitrix24")
    piotr = manager(cabinet, PIOTR)
    assign(cabinet, document.client_id, piotr)
    backend.push_document(port, document)
    ewa = manager(cabinet, "ewa.zielinska@kancelaria.example", "Ewa")
    current = cabinet.clients.get(Actor.system(), document.client_id)
    cabinet.clients.update(Actor.system(), attrs.evolve(current, manager_id=ewa.id))
    (queued,) = [
        m
        for m in cabinet.store.list_outbox(limit=20)
        if m.topic == "client.updated" and m.entity_id == document.client_id
    ]
    payload = decode_payload(queued)
    assert isinstance(payload, Client) and payload.manager_id == ewa.id
    backend.deliver(port, queued)
    assert company(emulator)["assignedById"] == 3
    assert item(emulator)["assignedById"] == 3
