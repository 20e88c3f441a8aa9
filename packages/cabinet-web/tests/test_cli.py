"""The ``cabinet`` command line (click's CliRunner, a temporary data directory)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_core.plugins import DEFAULT_PLUGINS, make_plugin_manager
from cabinet_core.settings import Settings
from cabinet_web.cli import main, make_cli
from cabinet_web.hookspecs import hookimpl
from cabinet_web.plugin import add_hookspecs
from click.testing import CliRunner


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CABINET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CABINET_SECRET_KEY", "cli-test-secret-" + "y" * 32)
    monkeypatch.delenv("CABINET_DATABASE_URL", raising=False)
    return CliRunner()


def invoke(runner: CliRunner, *args: str, input: str | None = None) -> str:
    result = runner.invoke(make_cli(), list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_plugins_lists_the_core_defaults_web_and_pdf(runner: CliRunner) -> None:
    # cabinet-bitrix is not a dependency of cabinet-web; tests/test_plugins_listing.py checks it
    # with every package installed.
    output = invoke(runner, "plugins")
    header, *rows = output.splitlines()
    assert header.split() == ["name", "package", "version", "hooks"]
    names = {row.split()[0] for row in rows}
    assert set(DEFAULT_PLUGINS) <= names
    assert {"cabinet_web", "cabinet_pdf"} <= names
    web_row = next(row for row in rows if row.startswith("cabinet_web "))
    assert "cabinet-web" in web_row
    assert "register_routes" in web_row and "register_commands" in web_row


def test_migrate_creates_the_database(runner: CliRunner, tmp_path: Path) -> None:
    output = invoke(runner, "migrate")
    assert "database is up to date: sqlite:///" in output
    assert (tmp_path / "data" / "cabinet.sqlite3").exists()


def test_users_create_list_and_set_password(runner: CliRunner, tmp_path: Path) -> None:
    output = invoke(
        runner,
        "users",
        "create",
        "--email",
        "boss@firma.pl",
        "--role",
        "admin",
        "--password",
        "first-password-1",
    )
    assert re.match(r"created user \d+: boss@firma\.pl \(admin\)", output)
    listing = invoke(runner, "users", "list")
    assert "boss@firma.pl" in listing and "admin" in listing
    invoke(runner, "users", "set-password", "BOSS@firma.pl", input="second-password-2\n" * 2)
    with Cabinet(Settings(data_dir=tmp_path / "data"), load_entrypoints=False) as cabinet:
        user = cabinet.users.authenticate("boss@firma.pl", "second-password-2")
        assert user.email == "boss@firma.pl"


def test_users_create_reports_validation_errors(runner: CliRunner) -> None:
    result = runner.invoke(
        make_cli(),
        ["users", "create", "--email", "x", "--role", "client", "--password", "short"],
    )
    assert result.exit_code == 1
    assert "email:" in result.output
    assert "password:" in result.output
    assert "client_id:" in result.output


def test_set_password_for_unknown_user_fails_cleanly(runner: CliRunner) -> None:
    result = runner.invoke(
        make_cli(), ["users", "set-password", "nobody@x.pl", "--password", "whatever-123"]
    )
    assert result.exit_code == 1
    assert "no user with the e-mail nobody@x.pl" in result.output


def test_demo_seeds_once_and_prints_the_same_logins(runner: CliRunner, tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    first = invoke(runner, "demo", "--no-serve", "--port", "8123", "--data-dir", str(demo_dir))
    assert "Demo cabinet: http://127.0.0.1:8123/" in first
    assert f"Mail: {(demo_dir / 'mail').resolve()}" in first
    logins = dict(re.findall(r"^\s+\w+\s+(\S+@demo\.pl)\s+(\S+)$", first, flags=re.M))
    assert set(logins) == {
        "client@demo.pl",
        "manager@demo.pl",
        "accountant@demo.pl",
        "admin@demo.pl",
    }
    second = invoke(runner, "demo", "--no-serve", "--port", "8123", "--data-dir", str(demo_dir))
    assert second == first
    with Cabinet(Settings(data_dir=demo_dir), load_entrypoints=False) as cabinet:
        system = Actor.system()
        clients = cabinet.clients.list(system)
        assert len(clients) == 2
        assert all({a.currency for a in c.bank_accounts} == {"PLN", "EUR"} for c in clients)
        client_user = cabinet.users.authenticate("client@demo.pl", logins["client@demo.pl"])
        assert client_user.client_id == clients[0].id or client_user.client_id in {
            c.id for c in clients
        }
        assert cabinet.news.list(system).total == 2
        for client in clients:
            assert client.id is not None
            assert cabinet.counterparties.list(system, client.id).total == 3
            assert cabinet.products.list(system, client.id).total == 3
        from cabinet_core.storage import DocumentQuery

        documents = cabinet.documents.list(system, DocumentQuery()).items
        # Per client: an issued VAT invoice and proforma, a draft EUR invoice, submitted cost
        # invoices in PLN and EUR.
        assert len(documents) == 10
        assert {d.status for d in documents} == {"issued", "draft", "submitted"}
        assert all(d.totals is not None for d in documents)


def test_plugins_add_commands(runner: CliRunner) -> None:
    class Greeter:
        @hookimpl
        def register_commands(self, cli: click.Group) -> None:
            @cli.command()
            def greet() -> None:
                """Say hello."""
                click.echo("dzień dobry")

    pm = make_plugin_manager(load_entrypoints=False)
    add_hookspecs(pm)  # a plugin using web hooks needs cabinet-web's specs first
    pm.register(Greeter())
    result = runner.invoke(make_cli(pm), ["greet"])
    assert result.output == "dzień dobry\n"


def test_main_runs_the_group(runner: CliRunner, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for command in ("serve", "demo", "worker", "migrate", "users", "plugins"):
        assert command in help_text


def test_worker_once_delivers_the_outbox(runner: CliRunner) -> None:
    invoke(
        runner,
        "users",
        "create",
        "--email",
        "boss@firma.pl",
        "--role",
        "admin",
        "--password",
        "first-password-1",
    )
    first = invoke(runner, "worker", "--once")
    delivered = int(re.search(r"delivered (\d+) message", first).group(1))  # type: ignore[union-attr]
    assert delivered >= 1
    assert invoke(runner, "worker", "--once") == "delivered 0 message(s)\n"


@pytest.mark.slow
def test_serve_answers_http(runner: CliRunner, tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CABINET_DATA_DIR": str(tmp_path / "served")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cabinet_web.cli import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, "cabinet serve exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as response:
                    page = response.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "cabinet serve did not answer"
                time.sleep(0.3)
        assert "Zaloguj się do Panelu Klienta" in page
        assert (tmp_path / "served" / "cabinet.sqlite3").exists()  # migrated on start
    finally:
        process.terminate()
        process.wait(timeout=20)
