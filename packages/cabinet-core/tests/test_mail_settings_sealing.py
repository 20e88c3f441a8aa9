"""The SMTP password at rest: sealed with a key derived from the secret key (never in clear in
the settings row or the audit log), a clear value an older version stored sealed on first read,
and a password sealed under another secret key reported as unreadable instead of failing."""

from __future__ import annotations

import json

import attrs
from cabinet_core.entities import Actor
from cabinet_core.sealing import Sealer, derive_key
from cabinet_core.services.mail_settings import MAIL_KEY, PASSWORD_LABEL, SEALED
from fixtures_services import World

SECRET = "Tajne-Haslo-SMTP-1"


def _save(world: World, **changes: object) -> None:
    values: dict[str, object] = {
        "host": "smtp.example.pl",
        "port": "587",
        "starttls": True,
        "ssl": False,
        "username": "biuro",
        "sender": "biuro@example.pl",
        "password": SECRET,
    }
    values.update(changes)
    world.cabinet.mail_settings.update(world.actor(world.admin), **values)  # type: ignore[arg-type]


def _row(world: World) -> dict[str, object]:
    with world.cabinet.store.transaction(readonly=True) as tx:
        return dict(tx.get_setting(MAIL_KEY) or {})


def test_the_password_is_sealed_in_the_settings_row(world: World) -> None:
    _save(world)
    row = _row(world)
    assert SECRET not in json.dumps(row)
    sealer = Sealer(derive_key(world.cabinet.settings.secret_key, PASSWORD_LABEL))
    assert sealer.open(str(row[SEALED])) == SECRET
    assert world.cabinet.mail_settings.effective_smtp().password == SECRET
    audit = world.cabinet.audit.list(world.actor(world.admin), entity="setting")
    assert SECRET not in json.dumps([entry.detail for entry in audit])
    assert audit[0].detail["password_changed"] is True


def test_saving_again_without_a_password_keeps_it_and_the_same_one_is_no_change(
    world: World,
) -> None:
    _save(world)
    token = _row(world)[SEALED]
    _save(world, password="", port="2525")
    assert _row(world)[SEALED] == token
    assert world.cabinet.mail_settings.effective_smtp().password == SECRET
    before = len(world.cabinet.audit.list(world.actor(world.admin), entity="setting"))
    _save(world, port="2525")  # the same password typed again changes nothing
    assert len(world.cabinet.audit.list(world.actor(world.admin), entity="setting")) == before
    _save(world, password="", port="2525", clear_password=True)
    assert SEALED not in _row(world)
    assert world.cabinet.mail_settings.effective_smtp().password is None


def test_a_clear_password_from_an_older_version_is_sealed_once_read(world: World) -> None:
    with world.cabinet.store.transaction() as tx:
        tx.set_setting(MAIL_KEY, {"host": "smtp.example.pl", "port": 25, "password": SECRET})
    assert world.cabinet.mail_settings.effective_smtp().password == SECRET
    row = _row(world)
    assert "password" not in row and SECRET not in json.dumps(row)
    assert world.cabinet.mail_settings.effective_smtp().password == SECRET
    entries = world.cabinet.audit.list(world.actor(world.admin), entity="setting")
    assert [e.detail for e in entries] == [{"key": MAIL_KEY, "password_sealed": True}]


def test_a_password_sealed_under_another_secret_key_is_unreadable(world: World) -> None:
    _save(world)
    cabinet = world.cabinet
    cabinet.settings = attrs.evolve(cabinet.settings, secret_key="another-secret-key-" + "y" * 20)
    assert cabinet.mail_settings.effective_smtp().password is None
    form = cabinet.mail_settings.form(Actor.of(world.admin))
    assert form.password_unreadable and not form.password_set
