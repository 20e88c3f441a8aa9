"""End-to-end support: the KSeF emulator served on a real socket (ports 18250-18299) and a
cabinet with the KSeF plugin pointed at it, a client with KSeF switched on and its token."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import cabinet_ksef.plugin
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client, Document, DocumentLine, Party, Role
from cabinet_core.ksef.submission import KsefState, KsefSubmission
from cabinet_core.settings import Settings
from cabinet_core.testing import TEST_SECRET_KEY, fast_password_hashing
from cabinet_core.worker import Worker
from cabinet_ksef.credentials import CredentialVault, token_credentials
from cabinet_ksef.sending import KsefSender
from cabinet_ksef.settings import KsefSettings
from ksef_emulator import Emulator, EmulatorConfig
from ksef_emulator.server import Served, serve_in_thread

SYSTEM = Actor.system()
SELLER_NIP = "5265877635"
SUPPLIER_NIP = "5260001246"
PORTS = range(18250, 18300)


def free_port() -> int:
    """A port of this suite's range nobody listens on (tried from a random start, so two runs
    at once rarely race for the same one)."""
    start = random.randrange(len(PORTS))
    for port in (*PORTS[start:], *PORTS[:start]):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18250-18299")


@dataclass
class World:
    cabinet: Cabinet
    emulator: Emulator
    served: Served
    client: Client
    worker: Worker

    @property
    def sender(self) -> KsefSender:
        subscriber = self.cabinet.outbox_subscriber("ksef")
        assert isinstance(subscriber, KsefSender)
        return subscriber

    def issue(self, **changes: Any) -> Document:
        """Issue a VAT invoice of the client (as its own user would)."""
        doc_type = next(t.key for t in self.cabinet.document_types.values() if t.ksef_kind == "VAT")
        assert self.client.id is not None
        document = Document(
            client_id=self.client.id,
            doc_type=doc_type,
            issue_date=self.cabinet.ksef_port().now().date(),
            due_date=self.cabinet.ksef_port().now().date(),
            buyer=Party(
                name="Kupiec S.A.",
                nip="5260001246",
                email="kupiec@example.com",
                address=Address(line1="ul. Długa 2", postal_code="00-002", city="Warszawa"),
            ),
            lines=(
                DocumentLine(name="Doradztwo", quantity=Decimal(4), unit_price=Decimal("250.00")),
            ),
            **changes,
        )
        stored = self.cabinet.documents.create(SYSTEM, document)
        assert stored.id is not None
        return self.cabinet.documents.transition(SYSTEM, stored.id, "issue")

    def submission(self, document_id: int) -> KsefSubmission:
        found = self.cabinet.ksef_port().submission(document_id)
        assert found is not None
        return found

    def work_until(
        self, done: Callable[[], bool], *, seconds: float = 20.0, tasks: bool = False
    ) -> None:
        """Run the worker (deliveries, and with ``tasks`` its periodic passes) until ``done``."""
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("the worker did not get there in time")
            handled = self.worker.run_once()
            if tasks:
                self.worker.run_due_tasks()
            if not handled:
                time.sleep(0.05)

    def settled(self, document_id: int) -> Callable[[], bool]:
        return lambda: (
            self.submission(document_id).state
            in (
                KsefState.ACCEPTED,
                KsefState.REJECTED,
            )
        )


def ksef_config(base_url: str, **extra: str) -> dict[str, str]:
    return {"base_url": base_url, "poll_seconds": "0.1", "offline_seconds": "1", **extra}


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path) -> Iterator[World]:
    port = free_port()
    emulator = Emulator(
        EmulatorConfig(base_url=f"http://127.0.0.1:{port}", seed="tests", processing_seconds=0.0)
    )
    with serve_in_thread(emulator, port=port) as served:
        settings = Settings(
            data_dir=tmp_path,
            secret_key=TEST_SECRET_KEY,
            plugins={"ksef": ksef_config(f"{served.url}/v2")},
        )
        with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_ksef.plugin]) as cabinet:
            fast_password_hashing(cabinet)
            cabinet.migrate()
            client = connect(cabinet, emulator)
            yield World(cabinet, emulator, served, client, Worker(cabinet))


def connect(cabinet: Cabinet, emulator: Emulator, nip: str = SELLER_NIP) -> Client:
    """A client with KSeF on and a token the emulator issued for its NIP context."""
    client = cabinet.clients.create(
        SYSTEM,
        Client(
            name=f"Sprzedawca {nip}",
            nip=nip,
            email=f"biuro{nip}@example.com",
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
        ),
    )
    assert client.id is not None
    emulator.add_subject(nip)
    port = cabinet.ksef_port()
    vault = CredentialVault(KsefSettings.of(cabinet).credentials_key, port)
    vault.keep(
        client.id,
        token_credentials(nip, emulator.add_token(nip)),
        now=port.now(),
        valid_until=None,
    )
    port.set_enabled(client.id, True)
    return client


def client_user(cabinet: Cabinet, client: Client, email: str = "jan@example.com") -> str:
    """A user of the client; returns the password."""
    password = "a-long-enough-password-1"
    cabinet.users.create(
        SYSTEM, email=email, name="Jan", role=Role.CLIENT, client_id=client.id, password=password
    )
    return password


def today() -> date:
    return date.today()
