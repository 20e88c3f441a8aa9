"""``cabinet clients create`` and ``cabinet clients list`` (click's CliRunner)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.cli import make_cli
from cabinet_core.entities import Actor
from cabinet_core.settings import Settings
from click.testing import CliRunner


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CABINET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CABINET_SECRET_KEY", "cli-test-secret-" + "y" * 32)
    monkeypatch.delenv("CABINET_DATABASE_URL", raising=False)
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(make_cli(), list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _manager(runner: CliRunner) -> None:
    invoke(
        runner,
        "users",
        "create",
        "--email",
        "Marek@firma.pl",
        "--role",
        "manager",
        "--password",
        "first-password-1",
    )


def test_create_and_list_clients(runner: CliRunner, tmp_path: Path) -> None:
    _manager(runner)
    output = invoke(
        runner,
        "clients",
        "create",
        "--name",
        "Kowalski Software sp. z o.o.",
        "--nip",
        "525-000-01-10",
        "--manager-email",
        "marek@FIRMA.pl",
        "--postal-code",
        "00-590",
        "--city",
        "Warszawa",
        "--bank-account",
        "PLN:PL61 1090 1014 0000 0712 1981 2874",
        "--bank-account",
        "eur:DE89370400440532013000",
    )
    match = re.fullmatch(
        r"created client (\d+): Kowalski Software sp\. z o\.o\. \(NIP 5250000110\)\n", output
    )
    assert match is not None
    invoke(runner, "clients", "create", "--name", "Nowak Transport")
    listing = invoke(runner, "clients", "list").splitlines()
    assert listing[0].split() == ["id", "nip", "manager", "active", "accounts", "name"]
    kowalski = next(row for row in listing if "Kowalski" in row)
    assert kowalski.split()[:5] == [
        match.group(1),
        "5250000110",
        "Marek@firma.pl",
        "yes",
        "PLN,EUR",
    ]
    found = invoke(runner, "clients", "list", "--search", "nowak").splitlines()
    assert len(found) == 2 and "Nowak Transport" in found[1]
    with Cabinet(Settings(data_dir=tmp_path / "data"), load_entrypoints=False) as cabinet:
        client = cabinet.clients.get(Actor.system(), int(match.group(1)))
        assert [a.iban for a in client.bank_accounts] == [
            "PL61109010140000071219812874",
            "DE89370400440532013000",
        ]
        assert client.address.city == "Warszawa"


def test_create_reports_every_problem_and_saves_nothing(runner: CliRunner) -> None:
    result = runner.invoke(
        make_cli(),
        [
            "clients",
            "create",
            "--name",
            " ",
            "--nip",
            "1234567890",
            "--bank-account",
            "GBP:PL61109010140000071219812875",
        ],
    )
    assert result.exit_code == 1
    for field in ("name:", "nip:", "bank_accounts.0.currency:", "bank_accounts.0.iban:"):
        assert field in result.output
    assert invoke(runner, "clients", "list").splitlines()[1:] == []


def test_unknown_manager_and_malformed_account(runner: CliRunner) -> None:
    result = runner.invoke(
        make_cli(), ["clients", "create", "--name", "X", "--manager-email", "nobody@x.pl"]
    )
    assert result.exit_code == 1
    assert "no user with the e-mail nobody@x.pl" in result.output
    result = runner.invoke(
        make_cli(), ["clients", "create", "--name", "X", "--bank-account", "PL611090"]
    )
    assert result.exit_code == 2
    assert "CURRENCY:IBAN" in result.output
    invoke(
        runner,
        "users",
        "create",
        "--email",
        "kasia@firma.pl",
        "--role",
        "accountant",
        "--password",
        "first-password-1",
    )
    result = runner.invoke(
        make_cli(), ["clients", "create", "--name", "X", "--manager-email", "kasia@firma.pl"]
    )
    assert result.exit_code == 1
    assert "manager_id:" in result.output
