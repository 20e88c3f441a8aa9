"""Shared fixtures: a cabinet with the PDF plugin, a client and documents to print."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import cabinet_pdf.plugin
import hypothesis
import pytest
from cabinet_core import Branding, Cabinet, Settings
from cabinet_core.entities import (
    Address,
    BankAccount,
    Client,
    Document,
    DocumentLine,
    Party,
)
from pypdf import PdfReader

# No per-example deadline: these machines are shared and noisy, and speed is measured in bench/,
# not in tests (an example that took 300 ms under load is not a failure).
hypothesis.settings.register_profile("cabinet", deadline=None)
hypothesis.settings.load_profile("cabinet")


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[Cabinet]:
    settings = Settings(data_dir=tmp_path, branding=Branding(firm_name="Kancelaria Łużycka"))
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin]) as cab:
        # Migrated like every real cabinet: the printable view reads the KSeF state it prints.
        cab.migrate()
        yield cab


@pytest.fixture
def client() -> Client:
    return Client(
        id=1,
        name="Zażółć Gęślą Sp. z o.o.",
        nip="5260250274",
        address=Address(line1="ul. Łąkowa 5", postal_code="90-001", city="Łódź"),
    )


@pytest.fixture
def invoice() -> Document:
    return Document(
        id=7,
        client_id=1,
        doc_type="vat_invoice",
        status="issued",
        number="FV/12/11/2026",
        issue_date=date(2026, 11, 27),
        sale_date=date(2026, 11, 26),
        due_date=date(2026, 12, 11),
        buyer=Party(
            name="Jaźń Źródlana S.A.",
            nip="1234563218",
            address=Address(line1="ul. Źródlana 1", postal_code="30-001", city="Kraków"),
        ),
        lines=(
            DocumentLine(
                name="Obsługa księgowa — październik",
                unit="usł.",
                unit_price=Decimal("1234.56"),
            ),
            DocumentLine(
                name="Książka „Ćwiczenia”",
                quantity=Decimal("2.5"),
                unit_price=Decimal("10.00"),
                vat_rate="5",
            ),
        ),
        bank_account=BankAccount(currency="PLN", iban="PL61109010140000071219812874"),
        notes="Dziękujemy za współpracę.",
    )


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


@pytest.fixture
def pdf_text() -> Callable[[bytes], str]:
    """All pages' text of a PDF; no-break spaces folded to plain ones."""
    return _pdf_text
