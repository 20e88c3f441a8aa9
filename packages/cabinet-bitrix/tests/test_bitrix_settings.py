from __future__ import annotations

import pytest
from cabinet_bitrix.settings import QUOTE, BitrixSettings

URL = "https://kancelaria.bitrix24.pl/rest/1/s3cr3tc0de/"


def test_defaults_send_everything_to_quotes_keyed_by_xml_id():
    settings = BitrixSettings.from_env({"CABINET_BITRIX_WEBHOOK_URL": URL})
    assert settings.webhook_url == URL
    assert settings.entity_type_for("vat_invoice") == QUOTE == 7
    assert settings.origin_field == "xmlId"
    assert settings.origin_prefix == "cabinet"
    assert settings.timeout == 60.0
    assert URL not in repr(settings)


def test_every_variable_is_read():
    settings = BitrixSettings.from_env(
        {
            "CABINET_BITRIX_WEBHOOK_URL": URL,
            "CABINET_BITRIX_ENTITY_TYPES": "vat_invoice=1038, proforma = 31,",
            "CABINET_BITRIX_DEFAULT_ENTITY_TYPE": "2",
            "CABINET_BITRIX_ORIGIN_FIELD": "ufCrm_CABINET_ID",
            "CABINET_BITRIX_ORIGIN_PREFIX": "kancelaria-a",
            "CABINET_BITRIX_TIMEOUT": "15",
        }
    )
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
    ],
)
def test_bad_settings_are_named(environ, message):
    if environ:
        environ = {"CABINET_BITRIX_WEBHOOK_URL": URL, **environ}
    with pytest.raises(ValueError, match=message):
        BitrixSettings.from_env(environ)
