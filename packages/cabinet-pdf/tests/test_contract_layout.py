"""A contract's text laid out by cabinet-pdf: its blocks become headings, numbered clauses and
signature lines; text is escaped on the way into reportlab's markup; the renderer prints a
document's ``view.text`` instead of its fields. The engine here is a test plugin that returns
the template unchanged (the real one, Jinja2's sandbox, is cabinet-web's)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import cabinet_pdf.plugin
import pytest
from cabinet_core import Cabinet, Settings
from cabinet_core.contract_templates import ContractTemplate
from cabinet_core.contract_text import Run, parse
from cabinet_core.entities import Actor, Client, Document, Party, PartyKind
from cabinet_core.hookspecs import hookimpl
from cabinet_core.printing import render
from cabinet_pdf.contract_text import markup
from pypdf import PdfReader

SYSTEM = Actor.system()
TEXT = """
<h1>Umowa o dzieło</h1>
<p>zawarta między <strong>Zamawiającym</strong> a Wykonawcą.</p>
<h2>§ 1. Przedmiot umowy</h2>
<ol><li>Wykonawca wykona dzieło: logo.</li><li>Odbiór nastąpi protokołem.</li></ol>
<h2>§ 2. Postanowienia końcowe</h2>
<ul><li>Kodeks cywilny, art. 627–646.</li></ul>
<signatures>
<sign>Zamawiający<br>Żółta Sp. z o.o.</sign>
<sign>Wykonawca<br>Jan Źdźbło</sign>
</signatures>
"""


class AsWritten:
    """A test engine: the template is its own output (no placeholders to fill)."""

    key = "as-written"

    def render(self, source: str, context: Mapping[str, Any]) -> str:
        return source


class EnginePlugin:
    @hookimpl
    def register_text_engines(self, register: Any) -> None:
        register(AsWritten())


@pytest.fixture
def contracts(tmp_path: Path) -> Iterator[Cabinet]:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40)
    plugins = [cabinet_pdf.plugin, EnginePlugin()]
    with Cabinet(settings, load_entrypoints=False, plugins=plugins) as cab:
        cab.migrate()
        yield cab


def test_runs_are_escaped_and_styled() -> None:
    runs = (
        Run(text="<b>&amp;</b> "),
        Run(text="gruby", bold=True),
        Run(text="\n"),
        Run(text="kursywa", italic=True),
    )
    assert markup(runs) == (
        "&lt;b&gt;&amp;amp;&lt;/b&gt; "
        '<font name="CabinetDejaVuSans-Bold">gruby</font><br/><i>kursywa</i>'
    )


def test_the_renderer_prints_the_contracts_text(contracts: Cabinet) -> None:
    template = contracts.contract_templates.create(
        Actor(user_id=None, role=SYSTEM.role),
        ContractTemplate(name="Krótka", contract_kind="dzielo", language="pl", body=TEXT),
    )
    client = contracts.clients.create(SYSTEM, Client(name="Żółta Sp. z o.o.", nip="5260250274"))
    document = Document(
        client_id=client.id or 0,
        doc_type="contract",
        issue_date=date(2026, 12, 1),
        buyer=Party(kind=PartyKind.PERSON, name="Jan Źdźbło"),
        extra={"template_version_id": template.version_id},
    )
    pdf = render(contracts, document, client).content
    reader = PdfReader(io.BytesIO(pdf))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
    assert "Umowa o dzieło" in text and "zawarta między Zamawiającym a Wykonawcą." in text
    assert "§ 1. Przedmiot umowy 1. Wykonawca wykona dzieło: logo. 2. Odbiór" in text
    assert "• Kodeks cywilny, art. 627–646." in text
    assert re.search(r"\.{40,} Zamawiający Żółta Sp\. z o\.o\. \.{40,} Wykonawca Jan Źdźbło", text)
    # The data sheet's blocks are not printed for a contract with a text.
    assert "Rodzaj umowy" not in text


def test_parsed_blocks_keep_their_order() -> None:
    kinds = [block.kind for block in parse(TEXT)]
    assert kinds == ["h1", "p", "h2", "ol", "h2", "ul", "signatures"]
