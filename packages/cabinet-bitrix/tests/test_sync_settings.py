"""The sync's settings from the environment: where the NIP goes, the price type, how often
to reconcile; mistakes stop the worker at start-up with the variable named."""

from __future__ import annotations

import pytest
from cabinet_bitrix.settings import NAMESPACE, BitrixSettings
from cabinet_core import Settings


def from_environment(environ: dict[str, str]) -> BitrixSettings:
    """The settings ``CABINET_BITRIX_*`` variables give: the core reads them into the ``bitrix``
    namespace (``Settings.from_env``), the plugin parses that namespace."""
    return BitrixSettings.from_config(Settings.from_env(environ).plugin_config(NAMESPACE))


WEBHOOK = {"CABINET_BITRIX_WEBHOOK_URL": "https://firma.bitrix24.pl/rest/1/abc/"}


def test_defaults():
    settings = from_environment(WEBHOOK)
    assert (settings.nip_field, settings.price_type, settings.reconcile_seconds) == (
        "RQ_VAT_ID",
        1,
        300.0,
    )


def test_values_from_the_environment():
    settings = from_environment(
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
        from_environment({**WEBHOOK, name: value})


def test_client_tagging_can_be_switched_off():
    assert from_environment(WEBHOOK).tag_client
    assert not from_environment({**WEBHOOK, "CABINET_BITRIX_TAG_CLIENT": "off"}).tag_client
    with pytest.raises(ValueError, match="CABINET_BITRIX_TAG_CLIENT"):
        from_environment({**WEBHOOK, "CABINET_BITRIX_TAG_CLIENT": "maybe"})
