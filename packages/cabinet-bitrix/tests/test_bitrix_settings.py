from __future__ import annotations

import pytest
from cabinet_bitrix.settings import NAMESPACE, QUOTE, BitrixSettings
from cabinet_core import Settings


def from_environment(environ: dict[str, str]) -> BitrixSettings:
    """The settings ``CABINET_BITRIX_*`` variables give: the core reads them into the ``bitrix``
    namespace (``Settings.from_env``), the plugin parses that namespace."""
    return BitrixSettings.from_config(Settings.from_env(environ).plugin_config(NAMESPACE))


URL = "https://kancelaria.bitrix24.pl/rest/1/s3cr3tc0de/"


def test_defaults_send_everything_to_quotes_keyed_by_a_user_field():
    settings = from_environment({"CABINET_BITRIX_WEBHOOK_URL": URL})
    assert settings.webhook_url == URL
    assert settings.mode == "webhook"
    assert settings.entity_type_for("vat_invoice") == QUOTE == 7
    # Quotes have no xmlId (bitrix24.md §3.4); smart processes do.
    assert settings.origin_field_for(7) == "UF_CRM_QUOTE_CABINET_ID"
    assert settings.origin_field_for(1038) == "xmlId"
    assert settings.origin_field_for(31) == "xmlId"
    assert settings.rate_plan.burst == 50 and settings.rate_plan.drain == 2.0
    assert settings.origin_prefix == "cabinet"
    assert settings.timeout == 60.0
    assert URL not in repr(settings)


def test_every_variable_is_read():
    settings = from_environment(
        {
            "CABINET_BITRIX_WEBHOOK_URL": URL,
            "CABINET_BITRIX_ENTITY_TYPES": "vat_invoice=1038, proforma = 31,",
            "CABINET_BITRIX_DEFAULT_ENTITY_TYPE": "2",
            "CABINET_BITRIX_ORIGIN_FIELD": "ufCrm_CABINET_ID",
            "CABINET_BITRIX_ORIGIN_PREFIX": "kancelaria-a",
            "CABINET_BITRIX_TIMEOUT": "15",
            "CABINET_BITRIX_PLAN": "enterprise",
        }
    )
    assert settings.rate_plan.burst == 250 and settings.rate_plan.drain == 5.0
    assert settings.origin_field_for(7) == settings.origin_field_for(1038) == "ufCrm_CABINET_ID"
    assert settings.entity_type_for("vat_invoice") == 1038
    assert settings.entity_type_for("proforma") == 31
    assert settings.entity_type_for("bill") == 2
    assert settings.origin_field == "ufCrm_CABINET_ID"
    assert settings.origin_prefix == "kancelaria-a"
    assert settings.timeout == 15.0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "CABINET_BITRIX_WEBHOOK_URL is not set"),
        ({"CABINET_BITRIX_ENTITY_TYPES": "vat_invoice"}, "doc_type=entityTypeId"),
        ({"CABINET_BITRIX_ENTITY_TYPES": "vat_invoice=quote"}, "doc_type=entityTypeId"),
        ({"CABINET_BITRIX_DEFAULT_ENTITY_TYPE": "quote"}, "entityTypeId"),
        ({"CABINET_BITRIX_TIMEOUT": "soon"}, "seconds"),
        ({"CABINET_BITRIX_PLAN": "gold"}, "CABINET_BITRIX_PLAN"),
    ],
)
def test_bad_settings_are_named(environ, message):
    if environ:
        environ = {"CABINET_BITRIX_WEBHOOK_URL": URL, **environ}
    with pytest.raises(ValueError, match=message):
        from_environment(environ)


def test_app_credentials_select_app_mode_without_a_webhook():
    settings = from_environment(
        {
            "CABINET_BITRIX_CLIENT_ID": "local.abc.123",
            "CABINET_BITRIX_CLIENT_SECRET": "s3cr3t",
            "CABINET_BITRIX_MEMBER_ID": "a223c6b3",
            "CABINET_BITRIX_TOKEN_URL": "https://oauth.bitrix24.tech/oauth/token/",
        }
    )
    assert settings.mode == "app"
    assert settings.token_url == "https://oauth.bitrix24.tech/oauth/token/"
    assert "s3cr3t" not in repr(settings)


def test_an_app_without_its_secret_is_refused():
    with pytest.raises(ValueError, match="CLIENT_SECRET"):
        from_environment(
            {"CABINET_BITRIX_CLIENT_ID": "local.abc.123", "CABINET_BITRIX_MEMBER_ID": "a2"}
        )
