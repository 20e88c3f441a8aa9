"""``cabinet users deactivate|reactivate EMAIL``: the operator's way to lock a user out."""

from __future__ import annotations

from pathlib import Path

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.cli import make_cli
from cabinet_core.entities import Actor
from cabinet_core.errors import AuthenticationFailed
from cabinet_core.settings import Settings
from click.testing import CliRunner

PASSWORD = "first-password-1"


def _invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(make_cli(), list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_deactivate_and_reactivate_by_email(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CABINET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CABINET_SECRET_KEY", "cli-test-secret-" + "y" * 32)
    monkeypatch.delenv("CABINET_DATABASE_URL", raising=False)
    runner = CliRunner()
    _invoke(
        runner,
        "users",
        "create",
        "--email",
        "boss@firma.pl",
        "--role",
        "admin",
        "--password",
        PASSWORD,
    )
    settings = Settings(data_dir=tmp_path / "data")
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        user = cabinet.users.authenticate("boss@firma.pl", PASSWORD)
        secret = cabinet.sessions.open(user)
        _, token = cabinet.tokens.create(Actor.of(user), name="script")
    output = _invoke(runner, "users", "deactivate", "BOSS@firma.pl")
    assert "deactivated boss@firma.pl" in output
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        assert cabinet.sessions.resolve(secret) is None
        with pytest.raises(AuthenticationFailed):
            cabinet.tokens.authenticate(token)
        with pytest.raises(AuthenticationFailed):
            cabinet.users.authenticate("boss@firma.pl", PASSWORD)
    assert "reactivated" in _invoke(runner, "users", "reactivate", "boss@firma.pl")
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        assert cabinet.users.authenticate("boss@firma.pl", PASSWORD).email == "boss@firma.pl"
    result = runner.invoke(make_cli(), ["users", "deactivate", "nobody@x.pl"])
    assert result.exit_code == 1
    assert "no user with the e-mail nobody@x.pl" in result.output


def test_reset_two_factor_by_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyotp

    monkeypatch.setenv("CABINET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CABINET_SECRET_KEY", "cli-test-secret-" + "y" * 32)
    monkeypatch.delenv("CABINET_DATABASE_URL", raising=False)
    runner = CliRunner()
    _invoke(
        runner,
        "users",
        "create",
        "--email",
        "boss@firma.pl",
        "--role",
        "admin",
        "--password",
        PASSWORD,
    )
    settings = Settings(data_dir=tmp_path / "data")
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        user = cabinet.users.authenticate("boss@firma.pl", PASSWORD)
        secret, _ = cabinet.two_factor.start_enrolment(Actor.of(user), email=user.email)
        cabinet.two_factor.confirm_enrolment(Actor.of(user), pyotp.TOTP(secret).now())
        assert user.id is not None and cabinet.two_factor.enabled(user.id)
    assert "is reset" in _invoke(runner, "users", "reset-two-factor", "boss@firma.pl")
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        assert not cabinet.two_factor.enabled(user.id)
