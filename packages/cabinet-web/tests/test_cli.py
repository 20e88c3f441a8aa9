"""cabinet-web's commands on the ``cabinet`` command line: serve and demo (click's CliRunner, a
temporary data directory). The core's commands are tested in cabinet-core's tests/test_cli.py."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.cli import main, make_cli
from cabinet_core.entities import Actor
from cabinet_core.hookspecs import hookimpl
from cabinet_core.plugins import DEFAULT_PLUGINS, make_plugin_manager
from cabinet_core.settings import Settings
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
    assert "translation_dirs" not in web_row  # the web's own catalogs are not a plugin's


def test_demo_with_an_unknown_loop_names_the_known_ones(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        make_cli(), ["demo", "--no-serve", "--with", "nowhere", "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 78
    assert "cabinet: --with: no demo loop named nowhere; known:" in result.output
    assert not (tmp_path / "d").exists()  # refused before anything was created


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

    # register_commands is a core hook: no web hookspecs are needed for it.
    pm = make_plugin_manager(load_entrypoints=False)
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
            "from cabinet_core.cli import main; main()",
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


def test_serve_caps_malloc_arenas_unless_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """glibc's per-thread arenas held ~13 MB more per web process after 3,000 requests; an
    operator's MALLOC_ARENA_MAX wins over the cap."""
    import platform

    from cabinet_web.cli import limit_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    if platform.libc_ver()[0] == "glibc":
        assert limit_malloc_arenas() is True
