"""cabinet-webhook's check_configuration hook: URL and secret checked at start when the
webhook backend is active."""

from __future__ import annotations

from cabinet_core.configuration import Problem
from cabinet_core.settings import Settings
from cabinet_webhook import plugin

SECRET = "a-long-enough-secret-1234"


def check(**values: object) -> list[Problem]:
    return plugin.check_configuration(settings=Settings(**values))  # type: ignore[arg-type]


def test_inactive_backend_is_not_checked() -> None:
    assert check(crm_backends=("null",)) == []


def test_missing_url_and_secret() -> None:
    [problem] = check(crm_backends=("webhook",))
    assert problem.setting == "CABINET_WEBHOOK_URL"
    assert "CABINET_WEBHOOK_SECRET" in problem.message


def test_a_short_secret() -> None:
    config = {"url": "https://crm.example/hook", "secret": "short"}
    [problem] = check(crm_backends=("webhook",), plugins={"webhook": config})
    assert problem.setting == "CABINET_WEBHOOK_SECRET"


def test_good_settings_pass() -> None:
    config = {"url": "https://crm.example/hook", "secret": SECRET}
    assert check(crm_backends=("webhook",), plugins={"webhook": config}) == []
