"""cabinet-bitrix's check_configuration hook: its settings checked at start, only when the
bitrix24 backend is active, without a request to the portal."""

from __future__ import annotations

from cabinet_bitrix import plugin
from cabinet_core.configuration import Problem
from cabinet_core.settings import Settings

WEBHOOK = "https://portal.example/rest/1/abc/"


def check(**values: object) -> list[Problem]:
    return plugin.check_configuration(settings=Settings(**values))  # type: ignore[arg-type]


def test_nothing_is_checked_while_the_backend_is_inactive() -> None:
    assert check(crm_backends=("null",), plugins={"bitrix": {"plan": "gold"}}) == []


def test_missing_credentials_name_the_webhook_url() -> None:
    [problem] = check(crm_backends=("bitrix24",))
    assert problem.setting == "CABINET_BITRIX_WEBHOOK_URL"
    assert problem.message.startswith("is not set; the bitrix24 CRM backend needs")


def test_an_app_without_its_secret() -> None:
    config = {"client_id": "local.1", "member_id": "m1"}
    [problem] = check(crm_backends=("bitrix24",), plugins={"bitrix": config})
    assert problem == Problem("CABINET_BITRIX_CLIENT_SECRET", "is not set for the Bitrix24 app")


def test_a_malformed_value_is_named() -> None:
    config = {"webhook_url": WEBHOOK, "plan": "gold"}
    [problem] = check(crm_backends=("bitrix24",), plugins={"bitrix": config})
    assert problem.setting == "CABINET_BITRIX_PLAN"


def test_good_settings_pass() -> None:
    assert check(crm_backends=("bitrix24",), plugins={"bitrix": {"webhook_url": WEBHOOK}}) == []
