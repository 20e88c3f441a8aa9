"""Reliability of the whole delivery path (outbox → worker → BitrixBackend → portal) when the
portal misbehaves for a while: down, bursts of 503 and 500, slow with answers lost after the
work was done, expired tokens. Afterwards every document is in the CRM exactly once (counted
by the cabinet's origin id), with its rows, and no message is lost or given up on.

Everything runs on one virtual clock (the emulator's server time, the client's pacing and
backoff, and the worker's retry schedule), so an outage of ten minutes costs no real time.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import cabinet_bitrix.plugin
import httpx
import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.auth import OAuthAuth, PortTokenStore, install
from cabinet_bitrix.client import RetryPolicy
from cabinet_core import Cabinet, Settings, hookimpl
from cabinet_core.entities import Address, Client, Document, DocumentLine, OutboxMessage, Party
from cabinet_core.worker import Worker
from emulated import emulated_client

DOCUMENTS = 60
SPA = 1038


class Registration:
    """Registers the backend under test, built once the cabinet exists."""

    def __init__(self, build: Callable[[Cabinet], BitrixBackend]) -> None:
        self.build = build
        self.backend: BitrixBackend | None = None

    @hookimpl
    def register_crm_backends(self, register: Any) -> None:
        def factory(cabinet: Cabinet) -> BitrixBackend:
            if self.backend is None:
                self.backend = self.build(cabinet)
            return self.backend

        register("bitrix24-under-test", factory)


class LostAnswers(httpx.BaseTransport):
    """The portal does the work, then the connection drops before the answer arrives, for
    the next ``lose`` requests that create items."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lose = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose > 0 and b"crm.item.add" in request.content:
            self.lose -= 1
            response.close()
            raise httpx.ReadTimeout("connection dropped after the write", request=request)
        return response


class Rig:
    """A cabinet with queued documents, an emulated portal and a worker on one clock."""

    def __init__(self, tmp_path: Path, *, app_mode: bool = False, **config: Any) -> None:
        self.clock = VirtualClock()
        self.emulator = Emulator(EmulatorConfig(**config), clock=self.clock)
        self.transport = LostAnswers(self.emulator.transport())
        self.app_mode = app_mode
        self.registration = Registration(self._backend)
        settings = Settings(
            data_dir=tmp_path, crm_backends=("bitrix24-under-test",), worker_max_attempts=12
        )
        self.cabinet = Cabinet(
            settings,
            load_entrypoints=False,
            plugins=[cabinet_bitrix.plugin, self.registration],
        )
        self.cabinet.migrate()
        self.document_ids = self._queue_documents()
        self.worker = Worker(self.cabinet, clock=self.now, rng=random.Random(4))

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def _backend(self, cabinet: Cabinet) -> BitrixBackend:
        auth: Any = None
        if self.app_mode:
            tokens = PortTokenStore(cabinet.sync_port("bitrix24"))
            form = self.emulator.install_app()
            install(tokens, {"auth": form}, now=self.clock.now())
            auth = OAuthAuth(
                tokens,
                self.emulator.portal.member_id,
                client_id=self.emulator.app.client_id,
                client_secret=self.emulator.app.client_secret,
                token_url=self.emulator.config.portal_url + "/oauth/token/",
                clock=self.clock.now,
            )
        client = emulated_client(
            self.emulator, self.clock, auth, retry=RetryPolicy(attempts=3, max_wait=120)
        )
        client._http = httpx.Client(transport=self.transport)
        return BitrixBackend(
            BitrixSettings(
                webhook_url=self.emulator.webhook_url, entity_types={"vat_invoice": SPA}
            ),
            client=client,
        )

    def _queue_documents(self) -> list[int]:
        with self.cabinet.store.transaction() as tx:
            owner = tx.add_client(
                Client(name="Kancelaria Sp. z o.o.", nip="5260250274", address=Address())
            )
            ids = []
            for n in range(DOCUMENTS):
                document = tx.add_document(
                    Document(
                        client_id=owner.id,
                        doc_type="vat_invoice",
                        status="issued",
                        number=f"FV/{n + 1}/11/2026",
                        issue_date=date(2026, 11, 27),
                        buyer=Party(name=f"Klient {n % 4}", nip="1234563218"),
                        lines=(
                            DocumentLine(name=f"Usługa {n}", unit_price=Decimal(100 + n)),
                            DocumentLine(
                                name="Książka", quantity=Decimal(2), unit_price=Decimal("9.5")
                            ),
                        ),
                    )
                )
                assert document.id is not None
                ids.append(document.id)
                tx.add_outbox(
                    OutboxMessage(
                        topic="document.created", entity="document", entity_id=document.id
                    ),
                    subscribers=self.cabinet.settings.crm_backends,
                )
            return ids

    def drain(
        self, *, recover_after: float | None = None, recover: Callable[[], object] = lambda: None
    ) -> None:
        """Run the worker, jumping the clock to the next retry when nothing is due, until the
        outbox is empty; ``recover`` runs once ``recover_after`` seconds have passed."""
        start = self.clock.now()
        recovered = recover_after is None
        for _ in range(500):
            if not recovered and self.clock.now() - start >= (recover_after or 0):
                recover()
                recovered = True
            if self.worker.run_once():
                continue
            pending = self.cabinet.store.list_outbox(status="pending", limit=1000)
            if not pending and recovered:
                return
            due = min((m.next_attempt_at for m in pending if m.next_attempt_at), default=None)
            step = (due - self.now()).total_seconds() if due is not None else 1.0
            self.clock.advance(max(step, 0.0) + 0.001)
        pytest.fail("the outbox did not drain")

    def assert_exactly_once(self, *, parties: bool = True) -> None:
        store = self.cabinet.store
        assert store.list_outbox(status="failed") == []
        assert store.list_outbox(status="pending") == []
        assert len(store.list_outbox(status="delivered", limit=1000)) == DOCUMENTS
        items = list(self.emulator.portal.items.get(SPA, {}).values())
        origins = Counter(item.get("xmlId") for item in items)
        assert origins == Counter({f"cabinet-document-{i}": 1 for i in self.document_ids})
        for item in items:
            assert len(self.emulator.portal.rows[("T40e", item["id"])]) == 2
        if parties:
            self.assert_parties_exactly_once()

    def assert_parties_exactly_once(self) -> None:
        """A company or contact is never created twice either."""
        for entity_type in (3, 4):
            parties = self.emulator.portal.items.get(entity_type, {}).values()
            created = Counter(p.get("originId") for p in parties if p.get("originId"))
            assert all(count == 1 for count in created.values()), created

    def close(self) -> None:
        if self.registration.backend is not None:
            self.registration.backend.client.close()
        self.cabinet.close()


@pytest.fixture
def rig_factory(tmp_path: Path):
    rigs: list[Rig] = []

    def make(**kwargs: Any) -> Rig:
        rig = Rig(tmp_path / str(len(rigs)), **kwargs)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def test_a_crm_down_for_ten_minutes_loses_and_duplicates_nothing(rig_factory) -> None:
    rig = rig_factory(write_seconds=0.02)
    rig.emulator.inject("down")
    rig.drain(recover_after=600, recover=rig.emulator.clear_faults)
    attempts = [m.attempts for m in rig.cabinet.store.list_outbox(status="delivered", limit=100)]
    assert min(attempts) > 1  # they were retried across the outage, not delivered before it
    rig.assert_exactly_once()


def test_bursts_of_503_and_500_are_waited_out(rig_factory) -> None:
    rig = rig_factory(write_seconds=0.02)
    rig.emulator.inject("query_limit", 40)  # another integration took the bucket
    rig.emulator.inject("internal_error", 3)
    rig.emulator.inject("html_error", 2, methods=["batch"])
    rig.drain()
    rig.assert_exactly_once()


def _slow_and_dropping(rig_factory) -> Rig:
    rig = rig_factory(write_seconds=0.5)  # 25 s of server time per batch of 50 writes
    rig.emulator.inject("slow", 4, methods=["batch"], seconds=40)
    rig.transport.lose = 3  # the portal created the items; the worker never heard
    rig.drain()
    assert rig.transport.lose == 0
    return rig


def test_a_slow_portal_that_drops_answers_after_writing_gets_no_duplicate_items(
    rig_factory,
) -> None:
    _slow_and_dropping(rig_factory).assert_exactly_once(parties=False)


def test_a_dropped_answer_does_not_duplicate_the_party_created_in_that_batch(
    rig_factory,
) -> None:
    _slow_and_dropping(rig_factory).assert_parties_exactly_once()


def test_expired_tokens_are_refreshed_and_nothing_is_sent_twice(rig_factory) -> None:
    rig = rig_factory(write_seconds=0.02, app_mode=True)
    rig.cabinet.crm_backends()  # installs the app
    rig.emulator.expire_tokens()
    rig.emulator.inject("expired_token", 4)
    rig.drain()
    rig.assert_exactly_once()
    assert rig.registration.backend is not None
    assert rig.registration.backend.client.auth.refreshes >= 1  # type: ignore[attr-defined]


def test_everything_at_once(rig_factory) -> None:
    rig = rig_factory(write_seconds=0.1)
    rig.emulator.inject("query_limit", 10)
    rig.emulator.inject("internal_error", 2)
    rig.emulator.inject("timeout", 2, seconds=60)
    rig.transport.lose = 2
    rig.emulator.inject("down")
    rig.drain(recover_after=300, recover=rig.emulator.clear_faults)
    rig.assert_exactly_once()


def test_another_process_spending_the_rows_budget_is_waited_out_without_spending_attempts(
    rig_factory,
) -> None:
    # Another process of the same app (same webhook) spends crm.item.productrow.set's ten
    # minutes of server time just before the worker starts: the rows of the first batches
    # are refused (OPERATION_TIME_LIMIT inside the batch) while their items go in.
    rig = rig_factory(method_seconds={"crm.item.productrow.set": 100.0})
    other = emulated_client(rig.emulator, rig.clock, retry=RetryPolicy(attempts=1))
    owner = other.call("crm.item.add", {"entityTypeId": SPA, "fields": {"title": "theirs"}})
    t0 = rig.clock.now()
    for _ in range(5):
        other.call(
            "crm.item.productrow.set",
            {"ownerType": "T40e", "ownerId": owner["item"]["id"], "productRows": []},
        )
    rig.drain()
    # Theirs plus ours, each of ours once with its rows.
    theirs = rig.emulator.portal.items[SPA].pop(int(owner["item"]["id"]))
    assert theirs["title"] == "theirs"
    rig.assert_exactly_once()
    # The rows could only go in once the block ended, ten minutes after it began.
    assert rig.clock.now() >= t0 + 600
    delivered = rig.cabinet.store.list_outbox(status="delivered", limit=1000)
    # Every wait was given back: each message spent only the attempt that went through.
    assert {m.attempts for m in delivered} == {1}
