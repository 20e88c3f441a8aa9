"""The sync's settings from the environment: where the NIP goes, the price type, how often
to reconcile; mistakes stop the worker at start-up with the variable named."""

from __future__ import annotations

import pytest
from cabinet_bitrix.settings import BitrixSettings

WEBHOOK = {"CABINET_BITRIX_WEBHOOK_URL": "https://firma.bitrix24.pl/rest/1/abc/"}


def test_defaults():
    settings = BitrixSettings.from_env(WEBHOOK)
    assert (settings.nip_field, settings.price_type, settings.reconcile_seconds) == (
        "RQ_VAT_ID",
        1,
        300.0,
    )


def test_values_from_the_environment():
    settings = BitrixSettings.from_env(
        {
            **WEBHOOK,
            "CABINET_BITRIX_NIP_FIELD": "RQ_INN",
            "CABINET_BITRIX_PRICE_TYPE": "3",
            "CABINET_BITRIX_RECONCILE_SECONDS": "60",
        }
    )
    assert (settings.nip_field, settings.price_type, settings.reconcile_seconds) == (
        "RQ_INN",
        3,
        60.0,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CABINET_BITRIX_NIP_FIELD", "RQ_NIP"),
        ("CABINET_BITRIX_PRICE_TYPE", "base"),
        ("CABINET_BITRIX_RECONCILE_SECONDS", "often"),
        ("CABINET_BITRIX_RECONCILE_SECONDS", "0"),
    ],
)
def test_mistakes_name_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        BitrixSettings.from_env({**WEBHOOK, name: value})


def test_client_tagging_can_be_switched_off():
    assert BitrixSettings.from_env(WEBHOOK).tag_client
    assert not BitrixSettings.from_env({**WEBHOOK, "CABINET_BITRIX_TAG_CLIENT": "off"}).tag_client
    with pytest.raises(ValueError, match="CABINET_BITRIX_TAG_CLIENT"):
        BitrixSettings.from_env({**WEBHOOK, "CABINET_BITRIX_TAG_CLIENT": "maybe"})
