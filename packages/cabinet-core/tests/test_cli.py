"""The ``cabinet`` command line of cabinet-core alone (click's CliRunner, a temporary data
directory): the group, the typed context, plugin commands, and worker, migrate, users, plugins.
These run with no web package installed (the ``core`` nox session)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.cli import CliContext, main, make_cli, open_cabinet
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


def test_the_console_script_is_the_cores(tmp_path: Path) -> None:
    """``cabinet worker --help`` and ``cabinet migrate`` through the installed script, with
    only what cabinet-core's own metadata declares."""
    from importlib.metadata import entry_points

    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "cabinet"]
    assert script.value == "cabinet_core.cli:main"
    bin_dir = Path(sys.executable).parent
    helped = subprocess.run(
        [str(bin_dir / "cabinet"), "worker", "--help"], capture_output=True, text=True, check=True
    )
    assert "Deliver outbox messages" in helped.stdout
    migrated = subprocess.run(
        [str(bin_dir / "cabinet"), "--data-dir", str(tmp_path / "cli"), "migrate"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": str(bin_dir), "CABINET_SECRET_KEY": "k" * 32},
    )
    assert "database is up to date: sqlite:///" in migrated.stdout
    assert (tmp_path / "cli" / "cabinet.sqlite3").exists()


def test_plugins_lists_the_core_defaults_and_the_cli(runner: CliRunner) -> None:
    output = invoke(runner, "plugins")
    header, *rows = output.splitlines()
    assert header.split() == ["name", "package", "version", "hooks"]
    names = {row.split()[0] for row in rows}
    assert {*DEFAULT_PLUGINS, "cabinet_core.cli"} <= names
    cli_row = next(row for row in rows if row.startswith("cabinet_core.cli "))
    assert "cabinet-core" in cli_row and "register_commands" in cli_row


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


def test_a_plugin_command_opens_the_cabinet_through_the_typed_context(
    runner: CliRunner, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}

    class Counter:
        @hookimpl
        def register_commands(self, cli: click.Group) -> None:
            @cli.command()
            @click.pass_context
            def count(ctx: click.Context) -> None:
                """How many users there are."""
                seen["obj"] = ctx.find_root().obj
                with open_cabinet(ctx) as cabinet:
                    seen["data_dir"] = cabinet.settings.data_dir
                    click.echo(str(len(cabinet.users.list(Actor.system()))))

    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(Counter())
    result = runner.invoke(
        make_cli(pm), ["--data-dir", str(tmp_path / "mine"), "count"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert result.output == "0\n"
    assert isinstance(seen["obj"], CliContext) and seen["obj"].pm is pm
    assert seen["data_dir"] == tmp_path / "mine"


def test_open_cabinet_outside_the_group_is_a_usage_error() -> None:
    @click.command()
    @click.pass_context
    def stray(ctx: click.Context) -> None:
        open_cabinet(ctx)

    result = CliRunner().invoke(stray, [])
    assert result.exit_code == 2
    assert "runs under the cabinet command line" in result.output


def test_main_runs_the_group(runner: CliRunner, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for command in ("worker", "migrate", "users", "clients", "plugins"):
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
