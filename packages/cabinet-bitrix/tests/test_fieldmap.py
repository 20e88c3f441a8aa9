"""Cabinet fields → CRM item fields per document type (``bitrix24.field_map``): checked when
saved, read once per push batch, and written with the item; a value the document lacks is not
sent, and a malformed saved mapping sends only the built-in fields."""

from __future__ import annotations

import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings, fieldmap
from cabinet_core.entities import OutboxMessage
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


def _push(cabinet, document, clock):
    emulator = Emulator(clock=clock)
    backend = BitrixBackend(
        BitrixSettings(webhook_url=emulator.webhook_url, entity_types={"vat_invoice": 1038}),
        client=emulated_client(emulator, clock),
    )
    backend.deliver(
        cabinet.sync_port("bitrix24"),
        OutboxMessage(
            id=1, topic="document.created", entity="document", entity_id=document.id, payload={}
        ),
    )
    (item,) = emulator.portal.items[1038].values()
    return backend, item


def test_mapped_fields_are_written_with_the_item(cabinet, document, clock):
    with cabinet.store.transaction() as tx:
        tx.set_setting(
            fieldmap.SETTINGS_KEY,
            {
                "vat_invoice": {
                    "ufCrm5Number": "number",
                    "ufCrm5Buyer": "buyer.nip",
                    "ufCrm5Nothing": "extra.not_there",
                }
            },
        )
    backend, _item = _push(cabinet, document, clock)
    # The push read the mapping; the emulator, as a portal, drops fields it has not defined,
    # so what the item is written with is checked here.
    assert backend._field_map["vat_invoice"]["ufCrm5Number"] == "number"
    fields = backend.item_fields(cabinet.sync_port("bitrix24"), document)
    assert fields["ufCrm5Number"] == "FV/1/11/2026"
    assert "ufCrm5Nothing" not in fields
    assert fields["title"].endswith("FV/1/11/2026")  # the built-in fields stay


def test_a_malformed_mapping_is_refused_and_ignored_by_the_push(cabinet, document, clock):
    with pytest.raises(ValueError, match=r"bitrix24\.field_map"):
        fieldmap.check_field_map({"vat_invoice": {"not a field": "number"}})
    with pytest.raises(ValueError, match=r"bitrix24\.field_map"):
        fieldmap.check_field_map({"vat_invoice": {"ufCrm5X": "password"}})
    with cabinet.store.transaction() as tx:
        tx.set_setting(fieldmap.SETTINGS_KEY, {"vat_invoice": ["number"]})
    backend, item = _push(cabinet, document, clock)
    assert backend._field_map == {}
    assert item["title"].endswith("FV/1/11/2026")
