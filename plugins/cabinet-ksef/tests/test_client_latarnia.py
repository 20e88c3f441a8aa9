"""Latarnia (MF's status service) read from the KSeF emulator, which serves ``/status`` at its
root: what the sender confirms an outage with before going offline at once."""

from __future__ import annotations

import httpx
import pytest
from cabinet_ksef.client import KsefClient
from cabinet_ksef.environments import Environment
from cabinet_ksef.errors import KsefUnavailable
from ksef_emulator import Emulator, EmulatorConfig
from ksef_emulator.transport import emulator_transport

ROOT = "http://ksef.invalid"


def test_an_announced_failure_and_its_end() -> None:
    emulator = Emulator(EmulatorConfig(base_url=ROOT, seed="latarnia"))
    with KsefClient(f"{ROOT}/v2", transport=emulator_transport(emulator)) as client:
        assert client.latarnia_status(ROOT).status == "AVAILABLE"
        assert not client.latarnia_status(ROOT).failure
        emulator.announce("TOTAL_FAILURE", title="Awaria całkowita")
        emulator.set_faults(down=True)  # the API is down; Latarnia still answers
        status = client.latarnia_status(ROOT)
        assert status.failure and status.status == "TOTAL_FAILURE"
        assert status.announcements == ((1, "Awaria całkowita"),)
        emulator.announce("AVAILABLE")
        assert not client.latarnia_status(ROOT).failure


def test_an_answer_latarnia_does_not_give_is_unavailable() -> None:
    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "PERHAPS"})

    with (
        KsefClient(f"{ROOT}/v2", transport=httpx.MockTransport(odd)) as client,
        pytest.raises(KsefUnavailable),
    ):
        client.latarnia_status(ROOT)


def test_the_official_latarnias() -> None:
    assert Environment.PRODUCTION.latarnia_url == "https://api-latarnia.ksef.mf.gov.pl"
    assert Environment.TEST.latarnia_url == "https://api-latarnia-test.ksef.mf.gov.pl"
    assert Environment.DEMO.latarnia_url is None  # MF runs none for DEMO
