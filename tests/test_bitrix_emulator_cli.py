"""`cabinet bitrix-emulator`: the command cabinet-bitrix adds to cabinet-web's CLI through the
``register_commands`` hook, serving the bitrix24-emulator package (so it needs all three,
hence a root test)."""

from __future__ import annotations

import uvicorn
from cabinet_web.cli import make_cli
from click.testing import CliRunner


def test_the_cli_command_serves_the_emulator_it_describes(monkeypatch):
    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    result = CliRunner().invoke(
        make_cli(),
        [
            "bitrix-emulator",
            "--port",
            "8123",
            "--plan",
            "enterprise",
            "--webhook-token",
            "abc",
            "--client-id",
            "local.test.1",
            "--client-secret",
            "s3cret",
            "--batch-seconds",
            "0.25",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/rest/1/abc/" in result.output
    assert "local.test.1" in result.output and "s3cret" in result.output
    # The one line the cabinet adds to the emulator's own banner: how to point a cabinet at it.
    assert "CABINET_BITRIX_WEBHOOK_URL=http://127.0.0.1:8123/rest/1/abc/" in result.output
    assert served["port"] == 8123
    emulator = served["app"].state.emulator
    assert emulator.config.plan.burst == 250
    assert emulator.config.batch_seconds == 0.25
