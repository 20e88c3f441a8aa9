"""The contract templates' sandbox: known escape payloads fail with a TemplateProblem (never a
leak, never a hang), the built-in templates render with every placeholder filled, and a
template reaches nothing but its context."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import attrs
import pytest
from cabinet_core.contract_builtins import BUILTIN_TEMPLATES
from cabinet_core.contract_templates import (
    FIELDS_OF_EXPLOITATION,
    PLACEHOLDERS,
    contract_context,
    sample_document,
)
from cabinet_core.contract_text import MAX_OUTPUT, TemplateProblem, parse
from cabinet_core.entities import Address, Party, PartyKind
from cabinet_web.contract_engine import SandboxEngine
from hypothesis import given, settings
from hypothesis import strategies as st

KINDS = {"dzielo": {"pl": "Umowa o dzieło", "en": "Contract for a specific work"}}
#: What a payload must never put in an error message or an output.
LEAKS = re.compile(r"root:|__globals__|<class|<function|<module|os\.|subprocess|Traceback", re.I)


@pytest.fixture(scope="module")
def engine() -> SandboxEngine:
    return SandboxEngine()


@pytest.fixture(scope="module")
def context() -> dict[str, object]:
    document, client = sample_document("contract-type", "dzielo", "pl")
    return contract_context(document, client, language="pl", kind_labels=KINDS)


ESCAPES = {
    "mro": "{{ ''.__class__.__mro__ }}",
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler globals": "{{ cycler.__init__.__globals__ }}",
    "joiner globals": "{{ joiner.__init__.__globals__.os }}",
    "namespace": "{% set ns = namespace() %}{{ ns.__init__ }}",
    "lipsum globals": "{{ lipsum.__globals__ }}",
    "include passwd": "{% include '/etc/passwd' %}",
    "import": "{% import '/etc/passwd' as p %}",
    "extends": "{% extends '/etc/passwd' %}",
    "template reference": "{{ self._TemplateReference__context }}",
    "self dict": "{{ self.__dict__ }}",
    "loop internals": "{% for x in contract.fields_of_exploitation %}{{ loop.__class__ }}"
    "{% endfor %}",
    "attr filter": "{{ contract|attr('__class__') }}",
    "map attribute": "{{ [contract]|map(attribute='__class__')|list }}",
    "format method": "{{ '{0.__class__.__init__.__globals__}'.format(contract) }}",
    "format_map": "{{ '{x.__class__}'.format_map({'x': contract}) }}",
    "percent format": "{{ '%s %s' % (contract, contractor) }}",
    "format filter": "{{ '%s'|format(contract) }}",
    "safe filter": "{{ contractor.name|safe }}",
    "list mutation": "{{ contract.fields_of_exploitation.append('x') }}",
    "dict mutation": "{{ contract.update({'subject': 'x'}) }}",
    "pop": "{{ contract.pop('subject') }}",
    "range": "{% for i in range(100000000) %}x{% endfor %}",
    "huge repeat": "{{ contract.subject * 100000000 }}",
    "huge list repeat": "{{ (contract.fields_of_exploitation * 100000000)|length }}",
    "huge power": "{{ 2 ** 64 ** 64 ** 64 }}",
    "center": "{{ contract.subject.center(1000000000) }}",
    "ljust": "{{ contract.subject.ljust(1000000000) }}",
    "nested loops": "{% for a in contract.subject %}{% for b in contract.subject %}"
    "{% for c in contract.subject %}{% for d in contract.subject %}x{% endfor %}{% endfor %}"
    "{% endfor %}{% endfor %}",
    "doubling": "{% set a = contract.subject %}" + "{% set a = a ~ a %}" * 40 + "{{ a|length }}",
    "replace bomb": "{{ contract.subject|replace('a', contract.subject * 50)"
    "|replace('a', contract.subject * 50)|replace('a', contract.subject * 50) }}",
    "recursion": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "undefined": "{{ config }}",
    "request": "{{ request.environ }}",
    "syntax": "{% for %}",
}


@pytest.mark.parametrize("payload", ESCAPES.values(), ids=ESCAPES.keys())
def test_escape_payloads_fail_safely(
    engine: SandboxEngine, context: dict[str, object], payload: str
) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateProblem) as refused:
        engine.render(payload, context)
    # Bounded: a refused template costs at most a few seconds of one core, never a hang.
    assert time.monotonic() - started < 10
    problem = refused.value
    told = problem.message % problem.params if problem.params else problem.message
    assert not LEAKS.search(told), told


def test_a_huge_output_is_refused(engine: SandboxEngine, context: dict[str, object]) -> None:
    line = "<p>" + "x" * 1000 + "</p>"
    with pytest.raises(TemplateProblem) as refused:
        engine.render(line * (MAX_OUTPUT // 1000 + 10), context)
    assert refused.value.params == {"limit": MAX_OUTPUT}


def test_values_are_escaped_not_obeyed(engine: SandboxEngine, context: dict[str, object]) -> None:
    hostile = {
        **context,
        "contractor": {**context["contractor"], "name": "<script>alert(1)</script>{{ 7*7 }}"},  # type: ignore[dict-item]
    }
    html = engine.render("<p>{{ contractor.name }}</p>", hostile)
    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}</p>"
    (block,) = parse(html)
    assert block.text == "<script>alert(1)</script>{{ 7*7 }}"


def test_the_engine_keeps_no_state_between_renders(
    engine: SandboxEngine, context: dict[str, object]
) -> None:
    engine.render("{% set subject = 'changed' %}<p>{{ subject }}</p>", context)
    assert engine.render("<p>{{ contract.subject }}</p>", context) == (
        "<p>Projekt graficzny logo i księgi znaku</p>"
    )


def test_every_placeholder_is_filled(engine: SandboxEngine) -> None:
    document, client = sample_document("contract-type", "dzielo", "pl")
    client = attrs.evolve(client, krs="0000123456")
    document = attrs.evolve(
        document,
        seller=Party(name=client.name, nip=client.nip, address=client.address, email=client.email),
    )
    context = contract_context(document, client, language="pl", kind_labels=KINDS)
    source = "".join(f"<p>{name}=[{{{{ {name} }}}}]</p>" for name in PLACEHOLDERS)
    values = dict(re.findall(r"<p>([a-z_.]+)=\[(.*?)\]</p>", engine.render(source, context), re.S))
    assert set(values) == set(PLACEHOLDERS)
    assert values["ordering_party.name"] == "Przykładowa Spółka sp. z o.o."
    assert values["ordering_party.nip"] == "5260250274"
    assert values["ordering_party.regon"] == "012345678"
    assert values["ordering_party.krs"] == "0000123456"
    assert values["ordering_party.address"] == "ul. Żółkiewskiego 12, 00-950 Warszawa"
    assert values["ordering_party.email"] == "biuro@example.com"
    assert values["contractor.name"] == "Jan Kowalski"
    assert values["contractor.is_person"] == "True"
    assert values["contractor.pesel"] == "44051401359"
    assert values["contractor.nip"] == ""
    assert values["contractor.address"] == "ul. Łąkowa 5/7, 30-001 Kraków"
    assert values["contractor.email"] == "jan.kowalski@example.com"
    assert values["contract.number"] == "UM/1/2026"
    assert values["contract.date"] == "01.12.2026"
    assert values["contract.kind"] == "dzielo"
    assert values["contract.kind_label"] == "Umowa o dzieło"
    assert values["contract.subject"] == "Projekt graficzny logo i księgi znaku"
    assert values["contract.date_from"] == "01.12.2026"
    assert values["contract.date_to"] == "31.12.2026"
    assert values["contract.hourly"] == "False"
    assert values["contract.amount"] == "1 000,00 PLN"
    assert values["contract.amount_in_words"] == "tysiąc złotych 00/100"
    assert values["contract.hourly_rate"] == ""
    assert values["contract.currency"] == "PLN"
    assert values["contract.copyright_transfer"] == "True"
    fields = values["contract.fields_of_exploitation"]
    assert all(labels["pl"] in fields for labels in FIELDS_OF_EXPLOITATION.values())


def test_english_formats_and_an_hourly_company_contract(engine: SandboxEngine) -> None:
    document, client = sample_document("contract-type", "zlecenie", "en")
    extra = {
        **document.extra,
        "rate_type": "hourly",
        "hourly_rate": "1234.5",
        "copyright_transfer": False,
    }
    company = Party(
        kind=PartyKind.COMPANY,
        name="Nowak & Syn",
        nip="1234563218",
        address=Address(line1="Main St 1", city="Berlin", postal_code="10115", country="DE"),
    )
    document = attrs.evolve(document, buyer=company, extra=extra)
    context = contract_context(document, client, language="en", kind_labels=KINDS)
    contract, contractor = context["contract"], context["contractor"]
    assert contract["hourly"] is True and contract["amount"] == ""
    assert contract["hourly_rate"] == "1,234.50 PLN" and contract["date"] == "1 December 2026"
    assert contract["fields_of_exploitation"] == []
    assert contractor["pesel"] == "" and contractor["nip"] == "1234563218"
    assert contractor["address"] == "Main St 1, 10115 Berlin, DE"
    html = engine.render("<p>{{ contractor.name }}: {{ contract.hourly_rate }}</p>", context)
    assert html == "<p>Nowak &amp; Syn: 1,234.50 PLN</p>"


@pytest.mark.parametrize("builtin", BUILTIN_TEMPLATES, ids=lambda b: b.key)
def test_the_built_in_templates_render_both_branches(
    engine: SandboxEngine, builtin: object
) -> None:
    assert hasattr(builtin, "body")
    document, client = sample_document("contract-type", builtin.contract_kind, builtin.language)  # type: ignore[attr-defined]
    language = builtin.language  # type: ignore[attr-defined]
    with_transfer = parse(
        engine.render(
            builtin.body, contract_context(document, client, language=language, kind_labels=KINDS)
        )  # type: ignore[attr-defined]
    )
    hourly = attrs.evolve(
        document,
        number=None,
        extra={
            **document.extra,
            "rate_type": "hourly",
            "hourly_rate": str(Decimal("40")),
            "copyright_transfer": False,
            "date_to": None,
        },
    )
    without = parse(
        engine.render(
            builtin.body, contract_context(hourly, client, language=language, kind_labels=KINDS)
        )  # type: ignore[attr-defined]
    )
    headings = [block.text for block in with_transfer if block.kind == "h2"]
    assert headings[0].startswith("§ 1.") and any("4." in h for h in headings)
    assert len([b for b in without if b.kind == "h2"]) == len(headings) - 1
    assert with_transfer[-1].kind == "signatures" and len(with_transfer[-1].items) == 2
    assert without[-1].kind == "signatures"
    words = " ".join(block.text for block in with_transfer)
    assert "Jan Kowalski" in words and "44051401359" in words
    civil_code = "Kodeksu cywilnego" if language == "pl" else "Civil Code"
    assert civil_code in words
    assert "40,00 PLN" in " ".join(b.text for b in without) or "40.00 PLN" in " ".join(
        b.text for b in without
    )


@settings(max_examples=200, deadline=None)
@given(value=st.text())
def test_any_typed_value_prints_as_typed(value: str) -> None:
    """Whatever a user types (markup, braces, entities, any script) reaches the contract as text:
    escaped by the engine, read back by the parser, never obeyed."""
    engine = SandboxEngine()
    html = engine.render("<p>x{{ contractor.name }}x</p>", {"contractor": {"name": value}})
    (block,) = parse(html)
    # The format folds whitespace as HTML does; everything else comes back unchanged.
    assert block.text == "x" + " ".join(("x" + value + "x").split())[1:-1] + "x"
