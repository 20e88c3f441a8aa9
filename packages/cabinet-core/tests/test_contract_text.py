"""The contract text format (the safe HTML subset), the contract type's PESEL and fields of
exploitation checks, and the built-in templates the migration seeds (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from cabinet_core.contract_builtins import BUILTIN_TEMPLATES
from cabinet_core.contract_text import Block, Run, TemplateProblem, parse
from cabinet_core.default_document_types import BUILT_IN_TYPES
from cabinet_core.entities import Document, Party, PartyKind
from cabinet_core.storage import Store
from cabinet_core.storage import contract_templates as db


def test_blocks_runs_and_signatures() -> None:
    blocks = parse(
        """
        <h1>Umowa <em>nr</em> 1</h1>
        <p>zawarta  między
           <strong>Alfa</strong> a Beta,<br>w Warszawie</p>
        <ol><li>pierwszy</li><li>drugi &amp; <b>trzeci</b></li></ol>
        <ul><li>pole</li></ul>
        <signatures><sign>Zamawiający<br>Alfa</sign><sign>Wykonawca</sign></signatures>
        """
    )
    assert [block.kind for block in blocks] == ["h1", "p", "ol", "ul", "signatures"]
    assert blocks[0].runs == (Run(text="Umowa "), Run(text="nr", italic=True), Run(text=" 1"))
    assert blocks[1].runs == (
        Run(text="zawarta między "),
        Run(text="Alfa", bold=True),
        Run(text=" a Beta,"),
        Run(text="\n"),
        Run(text="w Warszawie"),
    )
    assert blocks[2].text == "pierwszy\ndrugi & trzeci"
    assert blocks[4] == Block(
        kind="signatures",
        items=(
            (Run(text="Zamawiający"), Run(text="\n"), Run(text="Alfa")),
            (Run(text="Wykonawca"),),
        ),
    )


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<p onclick='x'>a</p>",
        '<p><a href="http://x">a</a></p>',
        "<p>a<p>b</p></p>",
        "<li>outside a list</li>",
        "<ol>text in a list</ol>",
        "loose text",
        "<p>never closed",
        "<p>a</h1>",
        "<!DOCTYPE html><p>a</p>",
        "<?php x ?><p>a</p>",
        "<sign>outside</sign>",
        "<signatures><p>x</p></signatures>",
        "<img src=x />",
        "",
        "<p>" + "x" * 200_001 + "</p>",
    ],
)
def test_anything_else_is_refused(html: str) -> None:
    with pytest.raises(TemplateProblem):
        parse(html)


def _contract_type() -> object:
    (found,) = [t for t in BUILT_IN_TYPES if getattr(t, "from_template", False)]
    return found() if isinstance(found, type) else found


def _contract(**extra: object) -> Document:
    values: dict[str, object] = {
        "contract_kind": "dzielo",
        "subject": "Logo",
        "date_from": "2026-12-01",
        "rate_type": "lump_sum",
        "amount": "1000.00",
        # The template version it is made from (a new contract without one is refused).
        "template_version_id": 1,
    }
    values.update(extra)
    return Document(
        client_id=1,
        doc_type=_contract_type().key,  # type: ignore[attr-defined]
        issue_date=date(2026, 12, 1),
        buyer=Party(kind=PartyKind.PERSON, name="Jan Kowalski"),
        extra=values,
    )


def _errors(document: Document) -> dict[str, str]:
    return {error.field: error.code for error in _contract_type().validate(document)}  # type: ignore[attr-defined]


def test_a_person_needs_a_valid_pesel_at_its_field() -> None:
    assert _errors(_contract())["extra.contractor_pesel"] == "required"
    assert _errors(_contract(contractor_pesel="44051401358"))["extra.contractor_pesel"] == (
        "invalid_pesel"
    )
    assert _errors(_contract(contractor_pesel="4405140135"))["extra.contractor_pesel"] == (
        "invalid_pesel"
    )
    assert _errors(_contract(contractor_pesel="44051401359")) == {}


def test_a_copyright_transfer_names_its_fields_of_exploitation() -> None:
    pesel = {"contractor_pesel": "44051401359"}
    transfer = _contract(copyright_transfer=True, **pesel)
    assert _errors(transfer) == {"extra.fields_of_exploitation": "required"}
    unknown = _contract(copyright_transfer=True, fields_of_exploitation=["everything"], **pesel)
    assert _errors(unknown) == {"extra.fields_of_exploitation": "invalid_choice"}
    named = _contract(copyright_transfer=True, fields_of_exploitation=["internet"], **pesel)
    assert _errors(named) == {}


def test_the_migration_seeds_the_built_in_templates_once(store: Store) -> None:
    with store.transaction() as tx:
        templates = db.listing(tx.connection)
        # A PostgreSQL database emptied by an earlier test is seeded again here.
        if not templates:
            assert db.seed_builtins(tx.connection) == len(BUILTIN_TEMPLATES)
            templates = db.listing(tx.connection)
        assert db.seed_builtins(tx.connection) == 0
    assert {(t.contract_kind, t.language) for t in templates} == {
        ("dzielo", "pl"),
        ("dzielo", "en"),
        ("zlecenie", "pl"),
        ("zlecenie", "en"),
    }
    assert all(t.builtin and t.active and t.version == 1 and t.version_id for t in templates)
    by_key = {t.key: t for t in templates}
    assert "Kodeksu cywilnego" in by_key["builtin-zlecenie-pl"].body
    with store.transaction(readonly=True) as tx:
        (version,) = db.versions(tx.connection, by_key["builtin-dzielo-pl"].id or 0)
        assert db.get_version(tx.connection, version.id or 0) == version
