"""Fixtures: the scripted portal (see ``bitrix_portal``), a client and backend on it, and a
cabinet with one saved document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import cabinet_bitrix.plugin
import httpx
import hypothesis
import pytest
from bitrix_portal import WEBHOOK, Portal
from cabinet_bitrix import BitrixBackend, BitrixClient, BitrixSettings
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import Address, Client, Document, DocumentLine, Party

# No per-example deadline: these machines are shared and noisy, and speed is measured in bench/,
# not in tests (an example that took 300 ms under load is not a failure).
hypothesis.settings.register_profile("cabinet", deadline=None)
hypothesis.settings.load_profile("cabinet")


@pytest.fixture
def portal() -> Portal:
    return Portal()


@pytest.fixture
def client(portal: Portal) -> Iterator[BitrixClient]:
    with BitrixClient(WEBHOOK, transport=httpx.MockTransport(portal.handle)) as bitrix:
        yield bitrix


@pytest.fixture
def backend(client: BitrixClient) -> BitrixBackend:
    return BitrixBackend(BitrixSettings(webhook_url=WEBHOOK), client=client)


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[Cabinet]:
    settings = Settings(data_dir=tmp_path)
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_bitrix.plugin]) as cab:
        cab.migrate()
        yield cab


@pytest.fixture
def document(cabinet: Cabinet) -> Document:
    with cabinet.store.transaction() as tx:
        owner = tx.add_client(
            Client(name="Zażółć Sp. z o.o.", nip="5260250274", address=Address(city="Łódź"))
        )
        return tx.add_document(
            Document(
                client_id=owner.id,
                doc_type="vat_invoice",
                status="issued",
                number="FV/1/11/2026",
                issue_date=date(2026, 11, 27),
                due_date=date(2026, 12, 11),
                buyer=Party(name="Jaźń S.A.", nip="1234563218"),
                lines=(
                    DocumentLine(name="Obsługa księgowa", unit="usł.", unit_price=Decimal("1000")),
                    DocumentLine(
                        name="Książka",
                        quantity=Decimal("2"),
                        unit_price=Decimal("10.50"),
                        vat_rate="5",
                    ),
                    DocumentLine(name="Szkolenie", unit_price=Decimal("300"), vat_rate="zw"),
                ),
                notes="Płatne przelewem",
            )
        )
