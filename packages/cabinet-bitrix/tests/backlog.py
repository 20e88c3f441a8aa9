"""The backlog kit: what the Bitrix24 plugin's reliability, reconciliation and token tests
and the proof suite's fault suites share (proof/conftest.py puts this folder on the path). It
lives beside the tests, not in the plugin: it writes the store directly and builds the
emulator, which the plugin's own code must never do (tests/test_layering.py,
tests/test_emulator_layering.py).

* :func:`queue_invoices`: a client and ``count`` issued invoices, each with a
  ``document.created`` message queued for the given subscribers, in one transaction;
  :func:`queued_template`: a database file holding such a backlog, to copy into each rig of a
  session instead of writing 2,000 invoices again for each.
* :func:`emulated.emulated_client` (re-exported): a client of an in-process emulator on one
  virtual clock.
* :class:`ReadDeadline`: a transport that keeps the client's read timeout on the virtual
  clock: an answer that took longer arrives too late (the work is done, the client gets
  ``ReadTimeout``), as it would from a served portal.
* :class:`BacklogRig`: a cabinet with a queued backlog, the emulated portal, the real worker
  and backend, all on one clock: :meth:`~BacklogRig.drain` runs the worker (jumping to the next
  retry when nothing is due), :meth:`~BacklogRig.converge` runs reconciliation passes until
  nothing is left to repair, :meth:`~BacklogRig.assert_exactly_once` checks the CRM.
* :func:`assert_in_crm_exactly_once`: every document once by its origin id, each item with
  its rows, one stage and one Responsible; :func:`assert_parties_once`: no company or contact
  twice.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import cabinet_bitrix.plugin
import httpx
import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from cabinet_bitrix.auth import BitrixAuth, OAuthAuth, PortTokenStore, TokenStore, install
from cabinet_bitrix.backend import BitrixBackend
from cabinet_bitrix.client import RetryPolicy
from cabinet_bitrix.convergence import document_states
from cabinet_bitrix.reconcile import reconcile
from cabinet_bitrix.settings import BitrixSettings
from cabinet_core import Cabinet, Settings, hookimpl
from cabinet_core.entities import Address, Client, Document, DocumentLine, OutboxMessage, Party
from cabinet_core.storage import Store
from cabinet_core.worker import Worker
from emulated import Sleeper, emulated_client

__all__ = [
    "SPA",
    "BacklogRig",
    "ReadDeadline",
    "Sleeper",
    "assert_in_crm_exactly_once",
    "assert_parties_once",
    "emulated_client",
    "queue_invoices",
    "queued_template",
]

#: The smart-process type invoices go to in these tests (``vat_invoice=1038``).
SPA = 1038
#: The owner type of that smart process's product rows.
ROWS_OWNER = "T40e"


class ReadDeadline(httpx.BaseTransport):
    """The client's read timeout on the virtual clock: an answer that took longer than
    ``seconds`` of server time (a ``slow`` fault, a long batch) is lost after the portal did
    the work, and the client gets :class:`httpx.ReadTimeout` once the timeout has passed, as
    from a served portal. ``late`` counts the answers lost so."""

    def __init__(self, inner: httpx.BaseTransport, clock: VirtualClock, seconds: float) -> None:
        self.inner = inner
        self.clock = clock
        self.seconds = seconds
        self.late = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        began = self.clock.now()
        response = self.inner.handle_request(request)
        if self.clock.now() - began > self.seconds:
            self.late += 1
            response.close()
            raise httpx.ReadTimeout("the answer came after the read timeout", request=request)
        return response


def queue_invoices(
    store: Store,
    count: int,
    *,
    subscribers: Sequence[str],
    rows: int = 2,
    buyers: int = 20,
    client_name: str = "Kancelaria Sp. z o.o.",
    month: str = "11/2026",
) -> list[int]:
    """A client and ``count`` issued invoices (``rows`` lines each, ``buyers`` buyers in turn),
    each with a ``document.created`` message for ``subscribers``; their ids, in one
    transaction."""
    with store.transaction() as tx:
        owner = tx.add_client(Client(name=client_name, nip="5260250274", address=Address()))
        assert owner.id is not None
        ids = []
        for n in range(count):
            lines = [DocumentLine(name=f"Usługa {n}", unit_price=Decimal(100 + n % 50))]
            if rows > 1:
                lines.append(
                    DocumentLine(name="Książka", quantity=Decimal(2), unit_price=Decimal("9.5"))
                )
            document = tx.add_document(
                Document(
                    client_id=owner.id,
                    doc_type="vat_invoice",
                    status="issued",
                    number=f"FV/{n + 1}/{month}",
                    issue_date=date(2026, 11, 27),
                    buyer=Party(name=f"Klient {n % buyers}", nip="1234563218"),
                    lines=tuple(lines),
                )
            )
            assert document.id is not None
            ids.append(document.id)
            tx.add_outbox(
                OutboxMessage(topic="document.created", entity="document", entity_id=document.id),
                subscribers=tuple(subscribers),
            )
        return ids


def queued_template(folder: Path, count: int, *, backend_name: str, rows: int = 2) -> Path:
    """A migrated cabinet database in ``folder`` with ``count`` queued invoices for
    ``backend_name``, closed: copy it into a rig's folder (as ``cabinet.sqlite3``) to start
    from the same backlog without writing it again."""
    with Cabinet(Settings(data_dir=folder), load_entrypoints=False) as cabinet:
        cabinet.migrate()
        queue_invoices(cabinet.store, count, subscribers=(backend_name,), rows=rows)
    return folder / "cabinet.sqlite3"


def assert_in_crm_exactly_once(
    emulator: Emulator, document_ids: Iterable[int], *, rows: int = 2
) -> None:
    """Every document is one item (by the cabinet's origin id) with its ``rows`` product
    rows; all on one stage with one Responsible (they are all issued, of one client)."""
    items = list(emulator.portal.items.get(SPA, {}).values())
    origins = Counter(item.get("xmlId") for item in items)
    assert origins == Counter({f"cabinet-document-{i}": 1 for i in document_ids})
    without = [i["id"] for i in items if len(emulator.portal.rows[(ROWS_OWNER, i["id"])]) != rows]
    assert without == [], f"{len(without)} items without their {rows} rows"
    assert len({item["stageId"] for item in items}) == 1
    assert len({item["assignedById"] for item in items}) == 1


def assert_parties_once(emulator: Emulator) -> None:
    """A company or contact is never created twice."""
    for entity_type in (3, 4):
        parties = emulator.portal.items.get(entity_type, {}).values()
        created = Counter(p.get("originId") for p in parties if p.get("originId"))
        assert all(count == 1 for count in created.values()), created


class BacklogRig:
    """A cabinet with ``documents`` queued invoices, an emulated portal (``config`` is its
    :class:`~bitrix24_emulator.EmulatorConfig`) and the real worker and backend, all on one
    virtual clock.

    The backend is registered as ``backend_name`` and built when the cabinet first asks:
    on the portal's webhook, or with ``app_mode`` on the app's OAuth pair as the install
    callback saves it (into the backend's port). ``transport`` wraps the emulator's transport
    (dropped answers, lost refreshes, a read deadline). ``with_plugin=False`` leaves the
    plugin's own registrations out (a rig whose backend is named ``bitrix24`` replaces the
    plugin's)."""

    def __init__(
        self,
        folder: Path,
        *,
        documents: int = 60,
        rows: int = 2,
        backend_name: str = "bitrix24-under-test",
        app_mode: bool = False,
        retry: RetryPolicy | None = None,
        worker_max_attempts: int = 12,
        seed: int = 4,
        transport: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None,
        with_plugin: bool = True,
        **config: Any,
    ) -> None:
        self.clock = VirtualClock()
        self.emulator = Emulator(EmulatorConfig(**config), clock=self.clock)
        self.transport = (transport or (lambda inner: inner))(self.emulator.transport())
        self.app_mode = app_mode
        self.retry = retry or RetryPolicy(attempts=3, max_wait=120)
        self.backend_name = backend_name
        self.rows = rows
        self.backend: BitrixBackend | None = None
        rig = self

        class Registration:
            @hookimpl
            def register_crm_backends(self, register: Any) -> None:
                register(backend_name, rig._build)

        settings = Settings(
            data_dir=folder,
            crm_backends=(backend_name,),
            worker_max_attempts=worker_max_attempts,
        )
        plugins: list[object] = [cabinet_bitrix.plugin] if with_plugin else []
        self.cabinet = Cabinet(settings, load_entrypoints=False, plugins=[*plugins, Registration()])
        self.cabinet.migrate()
        # A folder copied from :func:`queued_template` already holds its backlog.
        queued = self.cabinet.store.list_outbox(
            status="pending", subscriber=backend_name, limit=100_000
        )
        self.document_ids = sorted(m.entity_id for m in queued if m.entity_id is not None) or (
            queue_invoices(self.cabinet.store, documents, subscribers=(backend_name,), rows=rows)
        )
        self.worker = Worker(self.cabinet, clock=self.now, rng=random.Random(seed))

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def tokens(self, cabinet: Cabinet) -> TokenStore:
        """Where the app's pair is kept: the backend's port, as in production."""
        return PortTokenStore(cabinet.sync_port(self.backend_name))

    def _build(self, cabinet: Cabinet) -> BitrixBackend:
        if self.backend is None:
            auth: BitrixAuth | None = None
            if self.app_mode:  # the app's OAuth pair, as the install callback saves it
                tokens = self.tokens(cabinet)
                install(tokens, {"auth": self.emulator.install_app()}, now=self.clock.now())
                auth = OAuthAuth(
                    tokens,
                    self.emulator.portal.member_id,
                    client_id=self.emulator.app.client_id,
                    client_secret=self.emulator.app.client_secret,
                    token_url=self.emulator.config.portal_url + "/oauth/token/",
                    clock=self.clock.now,
                )
            client = emulated_client(
                self.emulator, self.clock, auth, retry=self.retry, transport=self.transport
            )
            self.backend = BitrixBackend(
                BitrixSettings(
                    webhook_url=self.emulator.webhook_url, entity_types={"vat_invoice": SPA}
                ),
                client=client,
            )
        return self.backend

    def drain(
        self,
        *,
        during: Callable[[int], object] = lambda step: None,
        recover_after: float | None = None,
        recover: Callable[[], object] = lambda: None,
        steps: int = 5000,
    ) -> None:
        """Run the worker, jumping the clock to the next retry when nothing is due, until the
        outbox is empty. ``during(step)`` runs before each step (to end an outage, …);
        ``recover`` runs once ``recover_after`` seconds of the clock have passed."""
        start = self.clock.now()
        recovered = recover_after is None
        for step in range(steps):
            if not recovered and self.clock.now() - start >= (recover_after or 0.0):
                recover()
                recovered = True
            during(step)
            if self.worker.run_once():
                continue
            pending = self.cabinet.store.list_outbox(status="pending", limit=100_000)
            if not pending and recovered:
                return
            due = min((m.next_attempt_at for m in pending if m.next_attempt_at), default=None)
            wait = (due - self.now()).total_seconds() if due is not None else 1.0
            self.clock.advance(max(wait, 0.0) + 0.001)
        pytest.fail("the outbox did not drain")

    def converge(self, *, passes: int = 10) -> None:
        """Reconciliation passes (as the worker's schedule runs them), each followed by the
        deliveries it queued, until one finds nothing to repair."""
        port = self.cabinet.sync_port(self.backend_name)
        assert self.backend is not None
        for _ in range(passes):
            self.clock.advance(600)
            report = reconcile(port, self.backend)
            self.drain()
            if not report.requeued and not report.convergence.waiting:
                return
        pytest.fail("reconciliation never converged")

    def assert_exactly_once(self, *, parties: bool = True, in_sync: bool = False) -> None:
        """Nothing failed or left pending, every document in the CRM exactly once with its
        rows (and, with ``parties``, no company or contact twice; with ``in_sync``,
        reconciliation reports every document in sync)."""
        store = self.cabinet.store
        assert store.list_outbox(status="failed", limit=10) == []
        assert store.list_outbox(status="pending", limit=10) == []
        assert_in_crm_exactly_once(self.emulator, self.document_ids, rows=self.rows)
        if parties:
            assert_parties_once(self.emulator)
        if in_sync:
            port = self.cabinet.sync_port(self.backend_name)
            states = document_states(port, self.document_ids)
            assert set(states.values()) <= {"in_sync", "repaired"}, Counter(states.values())

    def close(self) -> None:
        if self.backend is not None:
            self.backend.client.close()
        self.cabinet.close()

    def __enter__(self) -> BacklogRig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
