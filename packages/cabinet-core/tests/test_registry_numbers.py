"""REGON and KRS, the registry numbers a Bitrix24 requisite carries beside the NIP: kept for
clients (KRS) and counterparties (REGON, KRS), checked, normalised and stored on both databases."""

from __future__ import annotations

import attrs
import pytest
from cabinet_core.entities import Counterparty
from cabinet_core.errors import ValidationError
from cabinet_core.identifiers import validate_krs
from fixtures_services import World


def test_krs_is_ten_digits_with_its_leading_zeros() -> None:
    assert validate_krs("0000123456") == "0000123456"
    assert validate_krs("123456") == "0000123456"
    assert validate_krs(" 0000-123-456 ") == "0000123456"
    for bad in ("12345678901", "KRS123", "00001234x6"):
        with pytest.raises(ValidationError) as caught:
            validate_krs(bad)
        assert [(e.field, e.code) for e in caught.value.errors] == [("krs", "krs_format")]


def test_a_counterpartys_regon_and_krs_are_checked_and_stored(world: World) -> None:
    alice = world.actor(world.alice)
    created = world.cabinet.counterparties.create(
        alice,
        Counterparty(
            client_id=world.client_id(world.client_a),
            name="Rejestr sp. z o.o.",
            regon="123-456-785",
            krs="123456",
        ),
    )
    assert (created.regon, created.krs) == ("123456785", "0000123456")
    assert created.id is not None
    stored = world.cabinet.counterparties.get(alice, created.id)
    assert (stored.regon, stored.krs) == ("123456785", "0000123456")
    with pytest.raises(ValidationError) as caught:
        world.cabinet.counterparties.create(
            alice,
            Counterparty(
                client_id=world.client_id(world.client_a),
                name="Zły rejestr",
                regon="123456789",
                krs="12345x",
            ),
        )
    assert {(e.field, e.code) for e in caught.value.errors} == {
        ("regon", "regon_checksum"),
        ("krs", "krs_format"),
    }


def test_a_clients_krs_is_checked_and_stored(world: World) -> None:
    admin = world.actor(world.admin)
    updated = world.cabinet.clients.update(admin, attrs.evolve(world.client_a, krs="0000654321"))
    assert updated.krs == "0000654321"
    assert world.cabinet.clients.get(admin, world.client_id(world.client_a)).krs == "0000654321"
    with pytest.raises(ValidationError) as caught:
        world.cabinet.clients.update(admin, attrs.evolve(world.client_a, krs="x"))
    assert [(e.field, e.code) for e in caught.value.errors] == [("krs", "krs_format")]
