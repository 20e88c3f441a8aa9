"""The KSeF loop of ``cabinet demo --with ksef``: the KSeF emulator served next to the demo
cabinet, every demo client switched on with a KSeF token the emulator issued, and a purchase
invoice from a supplier waiting in KSeF for each of them.

Offered to the demo through cabinet-web's ``demo_loops`` hook (:mod:`cabinet_ksef.plugin`); the
loop's settings go into the demo cabinet's ``Settings.plugins["ksef"]``, never into the
process's environment. Issue an invoice as the demo client: the demo's worker sends it to the
emulator, and a few seconds later its page shows the KSeF number, the UPO and the QR code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cabinet_ksef.settings import NAMESPACE

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

#: The supplier whose invoices the demo clients receive (a valid NIP the emulator knows).
DEMO_SUPPLIER_NIP = "5260001246"
#: The Ministry's FA(3) example 1, whose parties the demo replaces.
EXAMPLE = Path(__file__).resolve().parent / "data" / "purchase_example.xml"


def purchase_xml(seller_nip: str, buyer_nip: str, number: str, issued: date) -> bytes:
    """An FA(3) purchase invoice from ``seller_nip`` to ``buyer_nip`` (the Ministry's example 1
    with its parties, number and dates replaced; valid against the FA(3) schema)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("<NIP>9999999999</NIP>", f"<NIP>{seller_nip}</NIP>", 1)
    text = text.replace("<NIP>1111111111</NIP>", f"<NIP>{buyer_nip}</NIP>", 1)
    text = text.replace("<P_2>FV2026/02/150</P_2>", f"<P_2>{number}</P_2>", 1)
    text = text.replace("<P_1>2026-02-15</P_1>", f"<P_1>{issued.isoformat()}</P_1>", 1)
    text = text.replace("<P_6>2026-01-27</P_6>", f"<P_6>{issued.isoformat()}</P_6>", 1)
    text = text.replace(
        "<DataWytworzeniaFa>2026-02-01T00:00:00Z</DataWytworzeniaFa>",
        f"<DataWytworzeniaFa>{issued.isoformat()}T00:00:00Z</DataWytworzeniaFa>",
        1,
    )
    return text.encode("utf-8")


def connect_clients(cabinet: Cabinet, emulator: Any) -> list[tuple[str, str]]:
    """Switch KSeF on for every client with a NIP, with a KSeF token the emulator issued for
    it (what staff do on the client's KSeF settings page); ``(name, nip)`` of each."""
    from cabinet_core.entities import Actor

    from cabinet_ksef.credentials import CredentialVault, token_credentials
    from cabinet_ksef.settings import KsefSettings

    port = cabinet.ksef_port()
    vault = CredentialVault(KsefSettings.of(cabinet).credentials_key, port)
    connected = []
    for client in cabinet.clients.list(Actor.system()):
        if client.id is None or not client.nip:
            continue
        emulator.add_subject(client.nip, client.name)
        if vault.info(client.id) is None:
            token = emulator.add_token(client.nip)
            vault.keep(
                client.id, token_credentials(client.nip, token), now=port.now(), valid_until=None
            )
        if not port.enabled(client.id):
            port.set_enabled(client.id, True)
        connected.append((client.name, client.nip))
    return connected


def seed_purchases(emulator: Any, buyers: list[tuple[str, str]], today: date) -> list[str]:
    """One supplier invoice per buyer in the emulator (the receiving pass imports them)."""
    emulator.add_subject(DEMO_SUPPLIER_NIP, "Dostawca Demo sp. z o.o.")
    numbers = []
    for index, (_name, nip) in enumerate(buyers, start=1):
        xml = purchase_xml(DEMO_SUPPLIER_NIP, nip, f"DEMO/{today:%Y%m%d}/{index}", today)
        try:
            numbers.append(emulator.put_invoice(xml))
        except ValueError:
            continue  # already there (a restarted demo): KSeF refuses the duplicate
    return numbers


class KsefDemoLoop:
    """``cabinet demo --with ksef``: the demo cabinet against the KSeF emulator."""

    crm_backends: tuple[str, ...] = ()

    def __init__(self, emulator: Any, host: str, port: int) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port

    @classmethod
    def create(cls, *, host: str, port: int) -> KsefDemoLoop:
        """The loop with an emulator at ``host:port`` (the factory the plugin offers)."""
        try:
            from ksef_emulator.cli import build, parse_args
        except ImportError:
            raise LookupError(
                "the ksef demo loop needs the KSeF emulator: pip install 'cabinet-ksef[emulator]'"
            ) from None
        options = parse_args(
            ["--host", host, "--port", str(port), "--processing-seconds", "1"],
            prog="cabinet demo",
        )
        emulator, _tokens = build(options)
        return cls(emulator, host, port)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v2"

    def plugin_settings(self) -> Mapping[str, Mapping[str, str]]:
        """The demo cabinet's ``ksef`` namespace: the emulator, quick polls."""
        return {
            NAMESPACE: {
                "base_url": self.base_url,
                "poll_seconds": "2",
                "offline_seconds": "30",
                "receive_minutes": "15",
            }
        }

    @contextlib.contextmanager
    def running(self, cabinet: Cabinet, base_url: str) -> Iterator[str]:
        """Serve the emulator, connect the demo clients, seed their purchases; the banner says
        what to try."""
        from ksef_emulator.server import serve_in_thread

        with serve_in_thread(self.emulator, host=self.host, port=self.port):
            buyers = connect_clients(cabinet, self.emulator)
            seed_purchases(self.emulator, buyers, cabinet.ksef_port().now().date())
            control = self.base_url.removesuffix("/v2")
            yield "\n".join(
                [
                    f"KSeF emulator: {self.base_url}  (what it holds: {control}/_emulator/state)",
                    "  KSeF is on for: " + ", ".join(f"{name} ({nip})" for name, nip in buyers),
                    "  issue a VAT invoice as the client: a few seconds later its page shows "
                    "the KSeF number and the QR code;",
                    "  the supplier's invoice waiting in KSeF appears among the cost invoices "
                    "after the first receiving pass;",
                    f"  KSeF down: curl -X POST {control}/_emulator/faults "
                    """-H 'Content-Type: application/json' -d '{"down": true}'""",
                    f"  staff: {base_url.rstrip('/')}/settings/ksef",
                ]
            )
