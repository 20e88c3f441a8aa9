"""One lookup of "which VAT rules apply on date D" (``Cabinet.tax_rules_on`` / ``rules_on``),
honouring the rule sets plugins register through ``register_tax_rules``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from cabinet_core import Cabinet, Settings
from cabinet_core.default_document_types import BUILT_IN_TYPES
from cabinet_core.doctypes.common import vat_codes_on
from cabinet_core.entities import Actor, Client, Document, DocumentLine, Party
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.vat import POLAND_2026, VatRate, rules_on

#: A rule set a plugin might register for a future change of rates: a new 7 % rate from 2027.
RATES_2027 = attrs.evolve(
    POLAND_2026,
    key="PL-2027-test",
    valid_from=date(2027, 1, 1),
    rates=(
        *POLAND_2026.rates,
        VatRate(
            code="7",
            percent=Decimal("7"),
            fa3_net_field="P_13_2",
            fa3_vat_field="P_14_2",
            label={"pl": "7%", "en": "7%"},
        ),
    ),
)


class RatesPlugin:
    @hookimpl
    def register_tax_rules(self, register: Register) -> None:
        register(RATES_2027)


@pytest.fixture
def cabinet(tmp_path: Path):
    with Cabinet(
        Settings(data_dir=tmp_path), load_entrypoints=False, plugins=[RatesPlugin()]
    ) as cab:
        cab.migrate()
        yield cab


def test_the_newest_valid_rule_set_applies_and_the_fallbacks_are_decided_once():
    assert rules_on([POLAND_2026, RATES_2027], date(2026, 12, 31)) is POLAND_2026
    assert rules_on([POLAND_2026, RATES_2027], date(2027, 1, 1)) is RATES_2027
    # Nothing registered (built-ins disabled): the built-in Polish rules.
    assert rules_on([], date(2026, 5, 1)) is POLAND_2026
    # A date before every registered set: the oldest set, not an error.
    assert rules_on([RATES_2027], date(2026, 5, 1)) is RATES_2027


def test_the_cabinet_looks_up_plugin_registered_rules(cabinet):
    assert {rules.key for rules in cabinet.tax_rules} == {POLAND_2026.key, RATES_2027.key}
    assert cabinet.tax_rules_on(date(2027, 3, 1)) is RATES_2027
    assert cabinet.tax_rules_on(date(2026, 3, 1)) is POLAND_2026


def test_vat_codes_on_honours_plugin_registered_rules(cabinet):
    assert "7" in vat_codes_on(date(2027, 3, 1), cabinet.tax_rules)
    assert "7" not in vat_codes_on(date(2026, 3, 1), cabinet.tax_rules)
    # Without the registry: the built-in rules.
    assert "7" not in vat_codes_on(date(2027, 3, 1))


def test_a_document_may_use_a_rate_only_a_plugin_registered(cabinet):
    admin = Actor.system()
    # An invoice is never dated after today: the test's today is in the 2027 rules' time.
    cabinet.store.clock = lambda: datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
    client = cabinet.clients.create(admin, Client(name="Żabka Sp. z o.o.", nip="5260250274"))
    invoice = Document(
        client_id=client.id or 0,
        doc_type=next(t.key for t in BUILT_IN_TYPES if t.ksef_kind == "VAT"),
        issue_date=date(2027, 2, 1),
        buyer=Party(name="Jaźń S.A.", nip="1234563218"),
        lines=(
            DocumentLine(
                name="Książka", quantity=Decimal("1"), unit_price=Decimal("100.00"), vat_rate="7"
            ),
        ),
    )
    saved = cabinet.documents.create(admin, invoice)
    assert saved.totals is not None
    assert (saved.totals.net, saved.totals.vat, saved.totals.gross) == (
        Decimal("100.00"),
        Decimal("7.00"),
        Decimal("107.00"),
    )
