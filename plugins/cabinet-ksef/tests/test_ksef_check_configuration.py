"""cabinet-ksef's check_configuration hook: every CABINET_KSEF_* value read at start."""

from __future__ import annotations

from cabinet_core.configuration import Problem
from cabinet_core.settings import Settings
from cabinet_ksef import plugin


def check(config: dict[str, str]) -> list[Problem]:
    settings = Settings(secret_key="k" * 40, plugins={"ksef": config})
    return plugin.check_configuration(settings=settings)


def test_the_defaults_pass() -> None:
    assert check({}) == []


def test_an_unknown_environment_is_named() -> None:
    [problem] = check({"environment": "staging"})
    assert problem.setting == "CABINET_KSEF_ENVIRONMENT"
    assert "staging" in problem.message


def test_a_bad_credentials_key_is_named() -> None:
    [problem] = check({"credentials_key": "not-a-key"})
    assert problem == Problem(
        "CABINET_KSEF_CREDENTIALS_KEY", "not a Fernet key (32 url-safe base64 bytes)"
    )
