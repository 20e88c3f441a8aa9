"""The plugin's composition: its hooks, the ``cabinet ksef-emulator`` command and the demo loop
of ``cabinet demo --with ksef`` (the emulator served, the demo clients switched on, a supplier's
invoice waiting in KSeF for each)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import cabinet_ksef.plugin
import click
import pluggy
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client
from cabinet_core.settings import Settings
from cabinet_core.testing import TEST_SECRET_KEY
from cabinet_ksef.credentials import CredentialVault
from cabinet_ksef.demo import DEMO_SUPPLIER_NIP, KsefDemoLoop, purchase_xml
from cabinet_ksef.sending import KsefSender
from cabinet_ksef.settings import KsefSettings
from click.testing import CliRunner
from emulated_ksef import free_port

SYSTEM = Actor.system()


def commands() -> click.Group:
    cli = click.Group("cabinet")
    cabinet_ksef.plugin.register_commands(cli)
    return cli


def test_the_emulator_command_passes_its_options_to_the_emulator() -> None:
    shown = CliRunner().invoke(commands(), ["ksef-emulator", "--help"])
    assert shown.exit_code == 0
    assert "usage: cabinet ksef-emulator" in shown.output and "--reject-invoices" in shown.output
    refused = CliRunner().invoke(commands(), ["ksef-emulator", "--port", "0"])
    assert refused.exit_code == 2


def test_the_subscriber_is_registered_with_its_periodic_passes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET_KEY)
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_ksef.plugin]) as cabinet:
        cabinet.migrate()
        assert "ksef" in cabinet.outbox_subscriber_names
        sender = cabinet.outbox_subscriber("ksef")
        assert isinstance(sender, KsefSender)
        names = [task.name for task in sender.periodic_tasks()]
        assert names == [
            "ksef.poll",
            "ksef.sessions",
            "ksef.recover",
            "ksef.receive",
            "ksef.checks",
        ]


def test_the_demo_loop_is_offered_and_connects_the_demo_clients(tmp_path: Path) -> None:
    from cabinet_web.demo import demo_loops

    pm = pluggy.PluginManager("cabinet")
    pm.register(cabinet_ksef.plugin)
    port = free_port()
    [loop] = demo_loops(pm, ["ksef"], host="127.0.0.1", port=port)
    assert isinstance(loop, KsefDemoLoop) and loop.crm_backends == ()
    namespace = loop.plugin_settings()["ksef"]
    assert namespace["base_url"] == f"http://127.0.0.1:{port}/v2"

    settings = Settings(
        data_dir=tmp_path, secret_key=TEST_SECRET_KEY, plugins={"ksef": dict(namespace)}
    )
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_ksef.plugin]) as cabinet:
        cabinet.migrate()
        client = cabinet.clients.create(
            SYSTEM,
            Client(
                name="Kowalski Software sp. z o.o.",
                nip="5250000110",
                email="biuro@kowalski.example",
                address=Address(
                    line1="ul. Marszałkowska 10", postal_code="00-590", city="Warszawa"
                ),
            ),
        )
        assert client.id is not None
        with loop.running(cabinet, "http://127.0.0.1:18299") as banner:
            assert "Kowalski Software" in banner and "/settings/ksef" in banner
            port_ = cabinet.ksef_port()
            assert port_.enabled(client.id)
            vault = CredentialVault(KsefSettings.of(cabinet).credentials_key, port_)
            assert vault.credentials(client.id) is not None
            held = [i for i in loop.emulator.state.invoices.values() if not i.session_reference]
            assert len(held) == 1 and b"5250000110" in held[0].xml
            # The receiving pass brings it into the client's cabinet.
            sender = cabinet.outbox_subscriber("ksef")
            assert isinstance(sender, KsefSender)
            from cabinet_ksef.receiving import Receiver

            assert Receiver(sender).receive(client.id).imported == 1


def test_the_purchase_example_is_a_valid_fa3_file() -> None:
    from cabinet_core.ksef import validate_fa3

    xml = purchase_xml(DEMO_SUPPLIER_NIP, "5250000110", "ZAK/1", date(2026, 12, 7))
    assert validate_fa3(xml) == []
    assert b"<NIP>5250000110</NIP>" in xml and b"<P_2>ZAK/1</P_2>" in xml
