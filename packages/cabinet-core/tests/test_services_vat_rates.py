"""cabinet.vat_rates: the VAT rates the document forms offer. Admins choose (audited, at least
one known rate), the environment wins, a rate a document already has stays offered."""

from __future__ import annotations

from datetime import date

import attrs
import pytest
from cabinet_core.errors import PermissionDenied, ValidationError
from cabinet_core.services.vat_rates import OFFERED_RATES_KEY
from fixtures_services import World

ON = date(2026, 11, 2)


def codes(world: World, keep: tuple[str, ...] = ()) -> list[str]:
    return [rate.code for rate in world.cabinet.vat_rates.offered(ON, keep)]


def test_every_rate_is_offered_until_an_admin_chooses(world: World) -> None:
    everything = world.cabinet.tax_rules_on(ON).codes
    assert tuple(codes(world)) == everything
    form = world.cabinet.vat_rates.set_offered(world.actor(world.admin), ["zw", "23", "8"])
    assert form.offered == ("23", "8", "zw")  # in the rules' order
    assert codes(world) == ["23", "8", "zw"]
    assert codes(world, keep=("0 WDT",)) == ["23", "8", "0 WDT", "zw"]
    entries = world.cabinet.audit.list(world.actor(world.admin), entity="setting")
    assert entries[0].detail == {"key": OFFERED_RATES_KEY, "old": None, "new": ["23", "8", "zw"]}


def test_unknown_or_no_rates_are_refused_and_nothing_is_saved(world: World) -> None:
    admin = world.actor(world.admin)
    with pytest.raises(ValidationError) as raised:
        world.cabinet.vat_rates.set_offered(admin, ["23", "17"])
    assert [(e.field, e.code) for e in raised.value.errors] == [("rates", "unknown")]
    with pytest.raises(ValidationError) as raised:
        world.cabinet.vat_rates.set_offered(admin, [])
    assert [(e.field, e.code) for e in raised.value.errors] == [("rates", "required")]
    assert len(codes(world)) == len(world.cabinet.tax_rules_on(ON).codes)


def test_only_admins_choose(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.cabinet.vat_rates.set_offered(world.actor(world.accountant), ["23"])


def test_the_environment_wins(world: World) -> None:
    cabinet = world.cabinet
    cabinet.vat_rates.set_offered(world.actor(world.admin), ["23"])
    cabinet.settings = attrs.evolve(cabinet.settings, plugins={"vat": {"offered_rates": "23,5"}})
    assert codes(world) == ["23", "5"]
    assert cabinet.vat_rates.form(world.actor(world.admin)).from_environment
