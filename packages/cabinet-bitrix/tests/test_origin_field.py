"""The quote's origin user field as the documentation has it: created with
``userfieldconfig.add`` under the documented ``UF_{entityId}_`` name, found again by its
``xmlId`` whatever the portal named it, and a duplicate answered with an empty error code
(userfieldconfig-add.md) taken for what it is: another worker made it first."""

from __future__ import annotations

import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.client import BitrixClient, BitrixError
from cabinet_bitrix.limiter import STANDARD, RequestBucket
from cabinet_bitrix.settings import ORIGIN_FIELD_XML_ID
from cabinet_core.entities import OutboxMessage
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(clock=clock)  # strict user fields: the default, as on a real portal


def backend_on(emulator, client):
    return BitrixBackend(BitrixSettings(webhook_url=emulator.webhook_url), client=client)


def deliver(cabinet, backend, document):
    message = OutboxMessage(
        id=1, topic="document.updated", entity="document", entity_id=document.id
    )
    backend.deliver(cabinet.sync_port("bitrix24"), message)


def test_the_field_is_created_with_the_documented_prefix_and_xml_id(
    cabinet, emulator, clock, document
):
    with emulated_client(emulator, clock) as client:
        backend = backend_on(emulator, client)
        assert backend.ensure_origin_field(7) == "UF_CRM_QUOTE_CABINET_ID"
        deliver(cabinet, backend, document)
    (field,) = emulator.portal.user_fields["CRM_QUOTE"].values()
    assert (field["fieldName"], field["xmlId"]) == ("UF_CRM_QUOTE_CABINET_ID", ORIGIN_FIELD_XML_ID)
    (item,) = emulator.portal.items[7].values()
    assert item["UF_CRM_QUOTE_CABINET_ID"] == f"cabinet-document-{document.id}"


def test_a_field_the_portal_has_under_another_name_is_found_by_its_xml_id(
    cabinet, emulator, clock, document
):
    # An older install made it with the legacy method: UF_CRM_ + the code.
    emulator.act(
        "crm.quote.userfield.add",
        {
            "fields": {
                "FIELD_NAME": "CABINET_ID",
                "USER_TYPE_ID": "string",
                "XML_ID": ORIGIN_FIELD_XML_ID,
            }
        },
    )
    with emulated_client(emulator, clock) as client:
        backend = backend_on(emulator, client)
        deliver(cabinet, backend, document)
        deliver(cabinet, backend, document)
        assert backend.ensure_origin_field(7) == "UF_CRM_CABINET_ID"
    assert list(emulator.portal.user_fields["CRM_QUOTE"]) == ["UF_CRM_CABINET_ID"]
    (item,) = emulator.portal.items[7].values()
    assert item["UF_CRM_CABINET_ID"] == f"cabinet-document-{document.id}"


def test_a_duplicate_answered_with_an_empty_code_is_read_back(cabinet, emulator, clock, document):
    inner = emulator.transport()
    raced = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "userfieldconfig.add" in request.url.path and not raced:
            # Another worker creates the field between our list and our add.
            raced.append(
                emulator.act(
                    "userfieldconfig.add",
                    {
                        "moduleId": "crm",
                        "field": {
                            "entityId": "CRM_QUOTE",
                            "fieldName": "UF_CRM_QUOTE_CABINET_ID",
                            "userTypeId": "string",
                            "xmlId": ORIGIN_FIELD_XML_ID,
                        },
                    },
                )
            )
        return inner.handle_request(request)

    client = BitrixClient(
        emulator.webhook_url,
        transport=httpx.MockTransport(handler),
        bucket=RequestBucket(STANDARD, clock=clock.now, sleep=clock.advance),
        clock=clock.now,
        sleep=clock.advance,
    )
    with client:
        backend = backend_on(emulator, client)
        assert backend.ensure_origin_field(7) == "UF_CRM_QUOTE_CABINET_ID"
        deliver(cabinet, backend, document)
    assert raced and len(emulator.portal.user_fields["CRM_QUOTE"]) == 1
    assert len(emulator.portal.items[7]) == 1


def test_other_refusals_are_not_mistaken_for_a_duplicate(emulator, clock):
    with emulated_client(emulator, clock) as client:
        backend = BitrixBackend(
            BitrixSettings(webhook_url=emulator.webhook_url, origin_user_field="UF_CRM_WRONG_NAME"),
            client=client,
        )
        with pytest.raises(BitrixError) as refused:
            backend.ensure_origin_field(7)
    assert refused.value.code == "" and "cannot create" in refused.value.description
