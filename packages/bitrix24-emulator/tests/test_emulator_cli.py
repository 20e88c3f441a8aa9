"""The ``bitrix24-emulator`` command: its options, its banner, and a real process serving the
portal it describes on a loopback port."""

from __future__ import annotations

import importlib.metadata
import socket
import subprocess
import sys
import time

import httpx
import pytest
import uvicorn
from bitrix24_emulator import ENTERPRISE, STANDARD, Emulator, EmulatorConfig
from bitrix24_emulator.cli import banner, main, parse_args


def test_the_console_script_is_installed():
    (script,) = [
        ep
        for ep in importlib.metadata.entry_points(group="console_scripts")
        if ep.name == "bitrix24-emulator"
    ]
    assert script.load() is main


def test_defaults_serve_a_standard_portal_on_port_8099_posting_events_after_the_answer():
    options = parse_args([])
    assert (options.host, options.port) == ("127.0.0.1", 8099)
    assert options.config.portal_url == "http://127.0.0.1:8099"
    assert options.config.plan == STANDARD
    assert options.config.batch_seconds is None
    assert options.config.deliver_events_inline is False


def test_every_option_reaches_the_portal():
    options = parse_args(
        [
            "--host",
            "0.0.0.0",
            "--port",
            "8123",
            "--plan",
            "enterprise",
            "--read-seconds",
            "0.1",
            "--write-seconds",
            "0.5",
            "--batch-seconds",
            "0.25",
            "--webhook-token",
            "abc",
            "--client-id",
            "local.test.1",
            "--client-secret",
            "s3cret",
        ]
    )
    config = options.config
    assert (options.host, options.port) == ("0.0.0.0", 8123)
    assert config.portal_url == "http://0.0.0.0:8123"
    assert config.plan == ENTERPRISE
    assert (config.read_seconds, config.write_seconds, config.batch_seconds) == (0.1, 0.5, 0.25)
    emulator = Emulator(config)
    assert emulator.webhook_url == "http://0.0.0.0:8123/rest/1/abc/"
    assert (emulator.app.client_id, emulator.app.client_secret) == ("local.test.1", "s3cret")


def test_unset_credentials_are_random_each_time():
    first, second = parse_args([]).config, parse_args([]).config
    assert first.webhook_token != second.webhook_token
    assert first.client_secret != second.client_secret


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--port", "0"], "a port is 1 to 65535"),
        (["--port", "http"], "not a port number"),
        (["--write-seconds", "-1"], "cannot be negative"),
        (["--batch-seconds", "nan"], "cannot be negative"),
        (["--read-seconds", "soon"], "not a number of seconds"),
        (["--plan", "free"], "invalid choice"),
        (["--verbose"], "unrecognized arguments"),
    ],
)
def test_a_bad_command_line_prints_why_and_exits_with_2(argv, complaint, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_help_names_the_program_it_is_run_as(capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(["--help"], prog="cabinet bitrix-emulator")
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: cabinet bitrix-emulator")
    assert "--batch-seconds" in shown and "--client-secret" in shown


def test_the_banner_names_the_webhook_the_app_and_the_control_api():
    emulator = Emulator(EmulatorConfig(portal_url="http://127.0.0.1:8099"))
    shown = banner(emulator)
    assert emulator.webhook_url in shown
    assert emulator.app.client_id in shown and emulator.app.client_secret in shown
    assert "http://127.0.0.1:8099/oauth/token/" in shown
    assert "http://127.0.0.1:8099/_emulator/state" in shown
    assert "standard plan" in shown


def test_main_prints_the_banner_and_serves_that_emulator(monkeypatch, capsys):
    served = {}
    # uvicorn.run blocks until Ctrl+C; the real server is the subprocess test below.
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    main(["--port", "8124", "--webhook-token", "xyz"])
    assert "http://127.0.0.1:8124/rest/1/xyz/" in capsys.readouterr().out
    assert (served["host"], served["port"]) == ("127.0.0.1", 8124)
    assert served["app"].state.emulator.webhook_url == "http://127.0.0.1:8124/rest/1/xyz/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_command_serves_the_portal_it_prints():
    port = _free_port()
    command = [sys.executable, "-m", "bitrix24_emulator", "--port", str(port)]
    with subprocess.Popen(
        [*command, "--webhook-token", "t0k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith(f"Bitrix24 emulator at http://127.0.0.1:{port}/")
            hook = f"http://127.0.0.1:{port}/rest/1/t0k/"
            deadline = time.monotonic() + 20
            while True:  # the only wait: the real server's startup after the banner
                try:
                    answer = httpx.post(hook + "profile")
                    break
                except httpx.ConnectError:
                    assert process.poll() is None, "the emulator stopped"
                    assert time.monotonic() < deadline, "the emulator did not start"
                    time.sleep(0.05)
            assert answer.status_code == 200
            assert answer.json()["result"]["ID"] == "1"
        finally:
            process.terminate()
            process.communicate(timeout=10)
