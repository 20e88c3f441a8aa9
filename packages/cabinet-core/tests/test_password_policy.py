"""The password policy (cabinet_core.password_policy): length, the shipped list of common
passwords (dressed up or repeated too), the account's own e-mail or name; refused with a field
error wherever a password is set (create, set, change, reset and invitation links, a new
client's first user, the command line)."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest
from cabinet_core.cli import make_cli
from cabinet_core.entities import Role
from cabinet_core.errors import ValidationError
from cabinet_core.password_policy import common_passwords, is_common, password_errors
from click.testing import CliRunner
from fixtures_services import PASSWORD, World
from hypothesis import given
from hypothesis import strategies as st

LIST_SHA256 = "3c1baed62596de36860824eb3f436d5932d37ca8b06e59df78f5a44ec175afe4"


def _codes(password: str, **account: str) -> list[str]:
    return [error.code for error in password_errors(password, **account)]


def test_the_shipped_list_is_the_documented_one() -> None:
    data = resources.files("cabinet_core.password_lists").joinpath("common-passwords.txt.gz")
    assert hashlib.sha256(data.read_bytes()).hexdigest() == LIST_SHA256
    common = common_passwords()
    assert len(common) == 19_640
    assert {"password", "qwertyuiop", "polska", "zaq12wsx", "password1234"} <= common
    assert all(entry == entry.lower() for entry in common)


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "QWERTYUIOP",
        "Password2026!",
        "  qwertyuiop  ",
        "2026!Polska!",
        "dragon1234567",
        "qwertyqwerty",
        "aaaaaaaaaaaa",
        "abababababab",
        "zaq12wsxzaq12wsx",
    ],
)
def test_common_passwords_are_refused(password: str) -> None:
    assert is_common(password)
    assert _codes(password) == ["common"]


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "tramwaj-na-mokotow-7", "Kot w butach 2026", "x7#Lq!vR9mZ2"],
)
def test_uncommon_passwords_pass(password: str) -> None:
    assert password_errors(password) == []


def test_length_comes_first() -> None:
    assert _codes("short") == ["too_short"]
    assert _codes("password") == ["too_short"]
    assert _codes("x7#Lq!vR9m" * 200) == ["too_long"]


def test_the_accounts_own_email_or_name_is_refused() -> None:
    account = {"email": "anna.nowak@alfa.example", "name": "Anna Nowak"}
    for password in ("anna.nowak@alfa.example", "Anna.Nowak2026!", "annanowak!!", "Anna Nowak 123"):
        assert _codes(password, **account) == ["like_account"], password
    assert _codes("x-anna.nowak@alfa.example-x", **account) == ["like_account"]
    assert _codes("anna lubi koty i psy", **account) == []


@given(st.text(min_size=10, max_size=60))
def test_the_policy_never_fails_on_any_text(password: str) -> None:
    errors = password_errors(password, email="a@b.pl", name="A")
    assert all(error.field == "password" for error in errors)


def test_every_service_that_sets_a_password_refuses_a_common_one(world: World) -> None:
    cabinet = world.cabinet
    admin = world.actor(world.admin)
    assert world.alice.id is not None
    with pytest.raises(ValidationError) as created:
        cabinet.users.create(
            admin,
            email="new@firm.example",
            name="New",
            role=Role.ACCOUNTANT,
            client_id=None,
            password="Password2026!",
        )
    assert [(e.field, e.code) for e in created.value.errors] == [("password", "common")]
    with pytest.raises(ValidationError) as named:
        cabinet.users.create(
            admin,
            email="new@firm.example",
            name="New",
            role=Role.ACCOUNTANT,
            client_id=None,
            password="new@firm.example",
        )
    assert [(e.field, e.code) for e in named.value.errors] == [("password", "like_account")]
    with pytest.raises(ValidationError) as set_by_manager:
        cabinet.users.set_password(world.actor(world.manager), world.alice.id, "qwertyuiop123")
    assert [e.code for e in set_by_manager.value.errors] == ["common"]
    with pytest.raises(ValidationError) as changed:
        cabinet.users.change_own_password(
            world.actor(world.alice), current=PASSWORD, new="alice@alfa.example"
        )
    assert [(e.field, e.code) for e in changed.value.errors] == [("new_password", "like_account")]
    # The password is unchanged by any of them.
    assert cabinet.users.authenticate("alice@alfa.example", PASSWORD).id == world.alice.id


def test_the_command_line_refuses_a_common_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CABINET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CABINET_SECRET_KEY", "cli-test-secret-" + "y" * 32)
    monkeypatch.delenv("CABINET_DATABASE_URL", raising=False)
    args = ["users", "create", "--email", "boss@firma.pl", "--role", "admin", "--password"]
    result = CliRunner().invoke(make_cli(), [*args, "password1234"])
    assert result.exit_code != 0
    assert "password: This password is on a list of common passwords" in result.output
    assert CliRunner().invoke(make_cli(), [*args, "boss@firma.pl"]).exit_code != 0
    ok = CliRunner().invoke(make_cli(), [*args, "tramwaj-na-mokotow-7"])
    assert ok.exit_code == 0, ok.output
