from __future__ import annotations

import importlib.metadata
import sys

import cabinet_bitrix.plugin
import pytest
from cabinet_bitrix import BitrixBackend


def test_entry_point_names_the_plugin_module():
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="cabinet")}
    assert eps["cabinet_bitrix"].load() is cabinet_bitrix.plugin


def test_cabinet_lists_the_backend_and_builds_it_from_the_environment(cabinet, monkeypatch):
    assert "bitrix24" in cabinet.crm_backend_names
    monkeypatch.setenv("CABINET_BITRIX_WEBHOOK_URL", "https://portal.bitrix24.pl/rest/1/abc/")
    backend = cabinet.crm_backend("bitrix24")
    assert isinstance(backend, BitrixBackend)
    assert backend.client.webhook_url == "https://portal.bitrix24.pl/rest/1/abc/"


def test_an_unconfigured_backend_fails_loudly(cabinet, monkeypatch):
    monkeypatch.delenv("CABINET_BITRIX_WEBHOOK_URL", raising=False)
    with pytest.raises(ValueError, match="CABINET_BITRIX_WEBHOOK_URL"):
        cabinet.crm_backend("bitrix24")


def test_closing_the_cabinet_closes_the_backends_connections(cabinet, monkeypatch):
    monkeypatch.setenv("CABINET_BITRIX_WEBHOOK_URL", "https://portal.bitrix24.pl/rest/1/abc/")
    backend = cabinet.crm_backend("bitrix24")
    http = backend.client._http
    assert not http.is_closed
    cabinet.close()
    assert http.is_closed


def test_a_client_handed_in_stays_open_for_its_owner():
    from cabinet_bitrix.backend import make_client
    from cabinet_bitrix.settings import BitrixSettings

    settings = BitrixSettings(webhook_url="https://portal.bitrix24.pl/rest/1/abc/")
    client = make_client(settings)
    try:
        BitrixBackend(settings, client=client).close()
        assert not client._http.is_closed
    finally:
        client.close()


def test_the_connectors_bucket_keeps_one_request_of_headroom():
    from cabinet_bitrix.backend import make_client
    from cabinet_bitrix.settings import BitrixSettings

    for plan, burst in (("standard", 49), ("enterprise", 249)):
        settings = BitrixSettings(webhook_url="https://p.bitrix24.pl/rest/1/abc/", plan=plan)
        with make_client(settings) as client:
            assert client.bucket.plan.burst == burst
            assert client.bucket.plan.drain == settings.rate_plan.drain


def _commands():
    import click

    cli = click.Group("cabinet")
    cabinet_bitrix.plugin.register_commands(cli)
    return cli


def test_the_emulator_command_passes_its_options_to_the_emulator():
    from click.testing import CliRunner

    shown = CliRunner().invoke(_commands(), ["bitrix-emulator", "--help"])
    assert shown.exit_code == 0, shown.output
    assert "usage: cabinet bitrix-emulator" in shown.output
    assert "--webhook-token" in shown.output and "--plan" in shown.output
    refused = CliRunner().invoke(_commands(), ["bitrix-emulator", "--port", "0"])
    assert refused.exit_code == 2


def test_the_emulator_command_without_the_extra_says_what_to_install(monkeypatch):
    from click.testing import CliRunner

    # None in sys.modules makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "bitrix24_emulator", None)
    monkeypatch.delitem(sys.modules, "bitrix24_emulator.cli", raising=False)
    result = CliRunner().invoke(_commands(), ["bitrix-emulator", "--port", "8123"])
    assert result.exit_code == 1
    assert "pip install 'cabinet-bitrix[emulator]'" in result.output
