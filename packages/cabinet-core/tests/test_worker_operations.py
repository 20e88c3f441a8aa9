"""The worker's part in operations: its heartbeat (read by ``/readyz``), its delivery counts
(``/metrics``) and its stop on a setting that cannot work (never a retry loop)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cabinet_core import Cabinet, Settings, hookimpl
from cabinet_core.configuration import ConfigurationError
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import OutboxMessage
from cabinet_core.health import readiness, worker_heartbeat
from cabinet_core.storage import Store
from cabinet_core.sync import SyncPort
from cabinet_core.worker import HEARTBEAT_SECONDS, Worker

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Backend:
    """Accepts every message but those whose entity id is listed in ``refuse``."""

    name = "scripted"

    def __init__(self, refuse: dict[int, Exception] | None = None) -> None:
        self.refuse = refuse or {}

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        error = self.refuse.get(message.entity_id or 0)
        if error is not None:
            raise error


class Plugin:
    def __init__(self, backend: object) -> None:
        self.backend = backend

    @hookimpl
    def register_crm_backends(self, register: object) -> None:
        register("scripted", lambda cabinet: self.backend)  # type: ignore[operator]


def make(store: Store, backend: object, **settings: object) -> Cabinet:
    return Cabinet(
        Settings(crm_backends=("scripted",), **settings),  # type: ignore[arg-type]
        plugins=[Plugin(backend)],
        load_entrypoints=False,
        store=store,
    )


def queue(store: Store, *entity_ids: int) -> None:
    with store.transaction() as tx:
        for entity_id in entity_ids:
            tx.add_outbox(
                OutboxMessage(topic="document.created", entity="document", entity_id=entity_id),
                subscribers=["scripted"],
            )


def test_the_heartbeat_is_written_at_most_every_15_seconds(store: Store) -> None:
    clock = Clock()
    worker = Worker(make(store, Backend()), clock=clock)
    worker.heartbeat()
    with store.transaction(readonly=True) as tx:
        first = worker_heartbeat(tx)
    assert first is not None and first.at == T0 and ":" in first.worker
    clock.now = T0 + timedelta(seconds=HEARTBEAT_SECONDS - 1)
    worker.heartbeat()
    with store.transaction(readonly=True) as tx:
        assert worker_heartbeat(tx) == first
    clock.now = T0 + timedelta(seconds=HEARTBEAT_SECONDS)
    worker.heartbeat()
    with store.transaction(readonly=True) as tx:
        beat = worker_heartbeat(tx)
    assert beat is not None and beat.at == clock.now


def test_a_running_worker_makes_the_cabinet_ready(store: Store) -> None:
    cabinet = make(store, Backend())
    assert [c.name for c in readiness(cabinet) if not c.ok] == ["worker"]
    stop = threading.Event()
    worker = Worker(cabinet, sleep=lambda _seconds: stop.set())
    worker.run_forever(stop)
    assert all(check.ok for check in readiness(cabinet))
    later = store.clock() + timedelta(seconds=121)
    [stale] = [c for c in readiness(cabinet, now=later) if not c.ok]
    assert stale.name == "worker" and "limit 120 s" in stale.detail


def test_deliveries_are_counted_by_outcome(store: Store) -> None:
    backend = Backend({2: DeliveryError("busy"), 3: DeliveryError("gone", permanent=True)})
    cabinet = make(store, backend)
    queue(store, 1, 2, 3, 4)
    assert Worker(cabinet, clock=Clock()).run_once() == 4
    counted = {
        sample.labels["outcome"]: sample.value
        for metric in cabinet.metrics.registry.collect()
        if metric.name == "cabinet_outbox_deliveries"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
    assert counted == {"delivered": 2, "retry": 1, "failed": 1}


class Misconfigured:
    """A backend whose setting proves wrong at the first delivery."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls = 0

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        raise DeliveryError("never reached")

    def deliver_many(self, port: SyncPort, messages: object) -> object:
        self.calls += 1
        raise ConfigurationError("CABINET_SCRIPTED_TOKEN", "refused by the server as invalid")


def test_the_worker_stops_on_a_configuration_error(store: Store) -> None:
    backend = Misconfigured()
    queue(store, 1)
    stop = threading.Event()
    waits: list[float] = []
    worker = Worker(make(store, backend), sleep=waits.append)
    with pytest.raises(ConfigurationError) as raised:
        worker.run_forever(stop)
    assert raised.value.problem.setting == "CABINET_SCRIPTED_TOKEN"
    assert backend.calls == 1 and waits == []  # no retry, no back-off loop
