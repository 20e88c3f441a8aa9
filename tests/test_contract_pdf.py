"""A contract made from a template prints its text: the clauses, the signature lines of both
parties and the Polish letters, read back with pypdf (cabinet-core, cabinet-web's engine and
cabinet-pdf together)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import cabinet_pdf.plugin
import pypdf
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client, PartyKind, Role
from cabinet_core.printing import render
from cabinet_core.services.contracts import Contractor, ContractOrder
from cabinet_core.settings import Settings
from cabinet_web.plugin import ensure_registered

SYSTEM = Actor.system()


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[Cabinet]:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40, rate_provider="offline")
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin]) as cab:
        ensure_registered(cab.pm)
        cab.migrate()
        yield cab


def _make(cabinet: Cabinet, key: str, **order: object) -> tuple[bytes, Client]:
    client = cabinet.clients.create(
        SYSTEM,
        Client(
            name="Łódzka Piekarnia sp. z o.o.",
            nip="7251801126",
            address=Address(line1="ul. Źródlana 3", postal_code="90-001", city="Łódź"),
        ),
    )
    user = cabinet.users.create(
        SYSTEM,
        email="klient@example.com",
        name="Klient",
        role=Role.CLIENT,
        client_id=client.id,
        password="correct horse battery staple",
    )
    actor = Actor.of(user)
    (template,) = [t for t in cabinet.contract_templates.list(actor) if t.key == key]
    values: dict[str, object] = {
        "template_id": template.id,
        "contractor": Contractor(
            kind=PartyKind.PERSON,
            name="Grzegorz Brzęczyszczykiewicz",
            pesel="44051401359",
            address=Address(line1="ul. Świętokrzyska 7", postal_code="00-001", city="Gdańsk"),
        ),
        "subject": "Zaprojektowanie etykiet żółtego sera",
        "date_from": date(2026, 12, 1),
        "date_to": date(2026, 12, 15),
        "amount": Decimal("3456.78"),
    }
    values.update(order)
    document = cabinet.contracts.create(actor, ContractOrder(**values))  # type: ignore[arg-type]
    return render(cabinet, document, client).content, client


def _text(pdf: bytes) -> tuple[str, pypdf.PdfReader]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    # pypdf breaks lines where the layout does; compare the words.
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages)), reader


def test_umowa_o_dzielo_prints_its_clauses_signatures_and_polish_letters(
    cabinet: Cabinet,
) -> None:
    pdf, _ = _make(
        cabinet,
        "builtin-dzielo-pl",
        copyright_transfer=True,
        fields_of_exploitation=("recording", "internet"),
    )
    text, reader = _text(pdf)
    for clause in (
        "Umowa o dzieło",
        "§ 1. Przedmiot umowy",
        "§ 2. Termin wykonania i odbiór",
        "§ 3. Wynagrodzenie i płatność",
        "§ 4. Prawa autorskie",
        "§ 5. Poufność",
        "§ 6. Postanowienia końcowe",
        "Kodeksu cywilnego",
        "art. 627–646",
    ):
        assert clause in text, clause
    assert "Zaprojektowanie etykiet żółtego sera" in text
    assert "Grzegorz Brzęczyszczykiewicz" in text and "PESEL 44051401359" in text
    assert "Łódzka Piekarnia sp. z o.o." in text and "ul. Źródlana 3, 90-001 Łódź" in text
    assert "3 456,78 PLN" in text and "trzy tysiące czterysta pięćdziesiąt sześć" in text
    assert "w Internecie" in text and "najem oryginału" not in text  # only the fields chosen
    # Both parties sign on a dotted line, their role and name under it.
    assert text.count("." * 40) == 2
    assert re.search(r"\.{40,} Zamawiający Łódzka Piekarnia", text)
    assert re.search(r"\.{40,} Wykonawca Grzegorz Brzęczyszczykiewicz", text)
    assert set("ąćęłńóśźżŁŹŚ") <= set(text)
    assert reader.trailer["/Root"]["/Lang"] == "pl-PL"
    assert "PROJEKT" in text  # a draft until it is signed


def test_umowa_zlecenie_in_english_with_an_hourly_rate_and_termination(cabinet: Cabinet) -> None:
    pdf, _ = _make(
        cabinet,
        "builtin-zlecenie-en",
        rate_type="hourly",
        amount=None,
        hourly_rate=Decimal("45.50"),
        date_to=None,
    )
    text, _ = _text(pdf)
    for clause in (
        "Contract of Mandate",
        "§ 1. Subject of the contract",
        "§ 2. Term",
        "for an indefinite period",
        "45.50 PLN for each hour",
        "§ 4. Confidentiality",
        "§ 5. Termination",
        "Article 746",
        "§ 6. Final provisions",
        "Articles 734–751",
    ):
        assert clause in text, clause
    assert "Copyright" not in text
    assert re.search(r"\.{40,} Principal Łódzka Piekarnia", text)
    assert re.search(r"\.{40,} Contractor Grzegorz Brzęczyszczykiewicz", text)
