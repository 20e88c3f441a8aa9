"""The worker's routing: mail topics to the mail service, batches to ``deliver_many``, and the
periodic tasks ``run_forever`` runs on schedule."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from cabinet_core import Cabinet, Settings, hookimpl
from cabinet_core.crm import BatchCrmBackend, DeliveryError, PeriodicTask
from cabinet_core.entities import OutboxMessage
from cabinet_core.storage import Store
from cabinet_core.sync import SyncPort
from cabinet_core.worker import Worker

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeMailDelivery:
    """Stands in for ``cabinet.mail_delivery``; fails the queued errors first."""

    def __init__(self, errors: list[Exception] | None = None) -> None:
        self.errors = list(errors or [])
        self.topics: list[str] = []

    def deliver(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        self.topics.append(message.topic)
        if self.errors:
            raise self.errors.pop(0)


class OneByOne:
    name = "single"

    def __init__(self) -> None:
        self.topics: list[str] = []
        self.ports: list[SyncPort] = []

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        self.topics.append(message.topic)
        self.ports.append(port)


class Batching:
    """Accepts batches; ``refuse`` maps an entity id to the error for that message."""

    name = "batching"

    def __init__(self, refuse: Mapping[int, Exception] | None = None) -> None:
        self.refuse = dict(refuse or {})
        self.batches: list[list[int]] = []
        self.single_calls = 0
        self.raise_whole: Exception | None = None
        self.forget: set[int] = set()
        self.tasks: list[PeriodicTask[SyncPort]] = []
        self.ports: list[SyncPort] = []

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        self.single_calls += 1

    def deliver_many(
        self, port: SyncPort, messages: Sequence[OutboxMessage]
    ) -> Mapping[int, Exception | None]:
        self.ports.append(port)
        self.batches.append([m.entity_id or 0 for m in messages])
        if self.raise_whole is not None:
            raise self.raise_whole
        return {
            m.id or 0: self.refuse.get(m.entity_id or 0)
            for m in messages
            if m.entity_id not in self.forget
        }

    def periodic_tasks(self, port: SyncPort) -> list[PeriodicTask[SyncPort]]:
        return self.tasks


class Plugin:
    def __init__(self, *backends: object) -> None:
        self.backends = backends

    @hookimpl
    def register_crm_backends(self, register: object) -> None:
        for backend in self.backends:
            register(backend.name, lambda cabinet, b=backend: b)  # type: ignore[attr-defined,operator]


def _cabinet(store: Store, *backends: object, max_attempts: int = 10) -> Cabinet:
    names = tuple(b.name for b in backends) or ("null",)  # type: ignore[attr-defined]
    settings = Settings(crm_backends=names, worker_max_attempts=max_attempts)
    return Cabinet(settings, plugins=[Plugin(*backends)], load_entrypoints=False, store=store)


def _queue(store: Store, *topics: str) -> dict[int, int]:
    """Queue one message per topic (entity id = position); message id by entity id."""
    with store.transaction() as tx:
        return {
            n: tx.add_outbox(OutboxMessage(topic=topic, entity="document", entity_id=n)).id or 0
            for n, topic in enumerate(topics)
        }


def _status(store: Store) -> dict[str, list[int]]:
    return {
        status: sorted(m.entity_id or 0 for m in store.list_outbox(status=status, limit=500))
        for status in ("pending", "delivered", "failed")
    }


def test_mail_topics_go_to_the_mail_service_and_never_to_a_crm(store: Store) -> None:
    crm = OneByOne()
    cabinet = _cabinet(store, crm)
    mail = FakeMailDelivery()
    cabinet.mail_delivery = mail  # type: ignore[attr-defined]
    _queue(store, "mail.invoice_sent", "document.created", "mail.reminder")
    assert Worker(cabinet, clock=FakeClock(T0)).run_once() == 3
    assert mail.topics == ["mail.invoice_sent", "mail.reminder"]
    assert crm.topics == ["document.created"]
    assert _status(store) == {"pending": [], "delivered": [0, 1, 2], "failed": []}


def test_a_failed_mail_is_retried_alone(store: Store) -> None:
    crm = OneByOne()
    cabinet = _cabinet(store, crm)
    cabinet.mail_delivery = FakeMailDelivery([DeliveryError("SMTP 451")])  # type: ignore[attr-defined]
    _queue(store, "mail.invoice_sent", "document.created")
    clock = FakeClock(T0)
    worker = Worker(cabinet, clock=clock)
    worker.run_once()
    assert _status(store) == {"pending": [0], "delivered": [1], "failed": []}
    [waiting] = store.list_outbox(status="pending")
    assert waiting.last_error == "SMTP 451"
    clock.advance(3600)
    assert worker.run_once() == 1
    assert _status(store)["delivered"] == [0, 1]
    assert crm.topics == ["document.created"]  # the mail never reached the CRM


def test_without_a_mail_service_mail_waits_instead_of_vanishing(store: Store) -> None:
    cabinet = _cabinet(store)
    cabinet.mail_delivery = None  # type: ignore[assignment]  # e.g. a core without the service
    _queue(store, "mail.invoice_sent")
    Worker(cabinet, clock=FakeClock(T0)).run_once()
    [waiting] = store.list_outbox(status="pending")
    assert waiting.last_error == "no mail delivery service is installed"
    assert waiting.attempts == 1


def test_a_batch_backend_gets_the_claimed_batch_in_one_call(store: Store) -> None:
    backend = Batching()
    assert isinstance(backend, BatchCrmBackend)
    _queue(store, *["document.created"] * 7)
    worker = Worker(_cabinet(store, backend), batch_size=5, clock=FakeClock(T0))
    assert worker.run_once() == 5
    assert worker.run_once() == 2
    assert backend.batches == [[0, 1, 2, 3, 4], [5, 6]]
    assert backend.single_calls == 0
    assert _status(store)["delivered"] == list(range(7))


def test_batch_outcomes_are_per_message(store: Store) -> None:
    backend = Batching(
        refuse={1: DeliveryError("429", retry_after=90), 2: DeliveryError("bad", permanent=True)}
    )
    backend.forget = {3}  # a backend that forgets an answer must not lose the message
    ids = _queue(store, *["document.created"] * 5)
    Worker(_cabinet(store, backend), clock=FakeClock(T0)).run_once()
    assert _status(store) == {"pending": [1, 3], "delivered": [0, 4], "failed": [2]}
    pending = {m.entity_id: m for m in store.list_outbox(status="pending")}
    assert pending[1].next_attempt_at == T0 + timedelta(seconds=90)
    assert pending[3].last_error == "backend 'batching' gave no outcome for this message"
    [failed] = store.list_outbox(status="failed")
    assert (failed.id, failed.last_error) == (ids[2], "bad")


def test_a_batch_call_that_raises_retries_every_message(store: Store) -> None:
    backend = Batching()
    backend.raise_whole = ConnectionError("portal unreachable")
    _queue(store, *["document.created"] * 3)
    Worker(_cabinet(store, backend), clock=FakeClock(T0)).run_once()
    pending = store.list_outbox(status="pending")
    assert [m.last_error for m in pending] == ["ConnectionError: portal unreachable"] * 3


def test_a_message_refused_by_the_first_backend_skips_the_next_and_is_retried(
    store: Store,
) -> None:
    first = Batching(refuse={0: DeliveryError("503")})
    second = OneByOne()
    _queue(store, "document.created", "document.updated")
    Worker(_cabinet(store, first, second), clock=FakeClock(T0)).run_once()
    assert second.topics == ["document.updated"]
    assert _status(store) == {"pending": [0], "delivered": [1], "failed": []}


def test_each_backend_is_handed_its_own_port(store: Store) -> None:
    batching, single = Batching(), OneByOne()
    cabinet = _cabinet(store, batching, single)
    _queue(store, "document.created", "document.updated")
    Worker(cabinet, clock=FakeClock(T0)).run_once()
    assert [port.backend for port in batching.ports] == ["batching"]
    assert [port.backend for port in single.ports] == ["single", "single"]
    # One port per backend and cabinet, the one the web shell hands the inbound handler too.
    assert batching.ports[0] is cabinet.sync_port("batching")
    assert single.ports[0] is single.ports[1] is cabinet.sync_port("single")


def test_a_backend_task_runs_with_its_port_and_a_worker_task_with_the_cabinet(
    store: Store,
) -> None:
    backend = Batching()
    seen: list[object] = []
    backend.tasks = [PeriodicTask("reconcile", 300, seen.append)]
    cabinet = _cabinet(store, backend)
    worker = Worker(cabinet, clock=FakeClock(T0), periodic=[PeriodicTask("own", 60, seen.append)])
    assert worker.run_due_tasks() == ["own", "reconcile"]
    assert seen == [cabinet, cabinet.sync_port("batching")]


def test_periodic_tasks_run_at_start_then_on_their_interval(store: Store) -> None:
    backend = Batching()
    runs: list[tuple[str, datetime]] = []
    clock = FakeClock(T0)
    backend.tasks = [PeriodicTask("reconcile", 300, lambda c: runs.append(("reconcile", clock())))]

    def flaky(cabinet: Cabinet) -> None:
        runs.append(("news", clock()))
        raise RuntimeError("feed down")  # logged; the task still runs at its next turn

    worker = Worker(
        _cabinet(store, backend), clock=clock, periodic=[PeriodicTask("news", 60, flaky)]
    )
    assert worker.run_due_tasks() == ["news", "reconcile"]
    assert worker.run_due_tasks() == []
    clock.advance(60)
    assert worker.run_due_tasks() == ["news"]
    clock.advance(240)
    assert worker.run_due_tasks() == ["news", "reconcile"]
    assert [name for name, _ in runs] == ["news", "reconcile", "news", "news", "reconcile"]


def test_run_forever_runs_due_tasks_and_wakes_up_for_the_next(store: Store) -> None:
    clock = FakeClock(T0)
    runs: list[datetime] = []
    stop = threading.Event()
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)
        if len(sleeps) == 4:
            stop.set()

    _queue(store, "document.created")
    worker = Worker(
        _cabinet(store),
        clock=clock,
        sleep=fake_sleep,
        periodic=[PeriodicTask("pull", 2.5, lambda c: runs.append(clock()))],
    )
    worker.run_forever(stop, idle_sleep=1.0)
    # Loop: task + the one message; idle 1 s, 1 s, then 0.5 s up to the task; task, idle 1 s.
    assert sleeps == [1.0, 1.0, 0.5, 1.0]
    assert runs == [T0, T0 + timedelta(seconds=2.5)]
    assert _status(store)["delivered"] == [0]


def test_a_task_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PeriodicTask("never", 0, lambda c: None)


def test_a_backend_that_cannot_list_its_tasks_still_gets_its_messages(store: Store) -> None:
    backend = Batching()

    def broken(port: SyncPort) -> list[PeriodicTask[SyncPort]]:
        raise ModuleNotFoundError("No module named 'cabinet_bitrix.reconcile'")

    backend.periodic_tasks = broken  # type: ignore[method-assign]
    stop = threading.Event()
    _queue(store, "document.created")
    worker = Worker(_cabinet(store, backend), clock=FakeClock(T0), sleep=lambda s: stop.set())
    worker.run_forever(stop)
    assert backend.batches == [[0]]
    assert _status(store)["delivered"] == [0]
