"""The ``ksef`` settings namespace: defaults, limits and the errors that name the variable."""

from __future__ import annotations

from datetime import time

import pytest
from cabinet_ksef.settings import KsefSettings, derive_key


def test_defaults_and_a_derived_credentials_key() -> None:
    settings = KsefSettings.from_config({}, secret_key="secret")
    assert settings.environment == "test" and settings.base_url == ""
    assert settings.receive_minutes == 30 and settings.offline_after == 3
    assert settings.credentials_key == derive_key("secret") != derive_key("other")
    assert settings.receiving_now(time(3, 0))


def test_values_are_read_and_the_receiving_hours_may_span_midnight() -> None:
    settings = KsefSettings.from_config(
        {
            "environment": "Production",
            "base_url": "http://127.0.0.1:18098/v2/",
            "receive_minutes": "30",
            "receive_hours": "20-06",
        },
        secret_key="secret",
    )
    assert settings.environment == "production"
    assert settings.base_url == "http://127.0.0.1:18098/v2"
    assert settings.receiving_now(time(23, 0)) and settings.receiving_now(time(5, 59))
    assert not settings.receiving_now(time(12, 0))


@pytest.mark.parametrize(
    ("config", "variable"),
    [
        ({"environment": "prod"}, "CABINET_KSEF_ENVIRONMENT"),
        ({"receive_minutes": "5"}, "CABINET_KSEF_RECEIVE_MINUTES"),
        ({"poll_seconds": "soon"}, "CABINET_KSEF_POLL_SECONDS"),
        ({"receive_hours": "night"}, "CABINET_KSEF_RECEIVE_HOURS"),
        ({"credentials_key": "short"}, "CABINET_KSEF_CREDENTIALS_KEY"),
    ],
)
def test_a_wrong_value_names_its_variable(config: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        KsefSettings.from_config(config, secret_key="secret")
