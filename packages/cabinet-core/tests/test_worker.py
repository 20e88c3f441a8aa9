"""The outbox worker: delivery, retries with backoff, giving up, and several workers at once."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cabinet_core import Cabinet, Settings, hookimpl
from cabinet_core.crm import CrmBackend, DeliveryError
from cabinet_core.default_crm_backends import NullBackend
from cabinet_core.entities import OutboxMessage
from cabinet_core.storage import Store
from cabinet_core.sync import SyncPort
from cabinet_core.worker import BACKOFF_CAP_SECONDS, Worker, backoff_delay
from hypothesis import given
from hypothesis import strategies as st

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ScriptedBackend:
    """Raises the queued errors in turn, then accepts; records every call."""

    name = "scripted"

    def __init__(self, errors: list[Exception] | None = None) -> None:
        self.errors = list(errors or [])
        self.calls: list[int | None] = []

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        self.calls.append(message.id)
        if self.errors:
            raise self.errors.pop(0)


class BackendPlugin:
    """Registers one backend instance under its name."""

    def __init__(self, backend: ScriptedBackend) -> None:
        self.backend = backend

    @hookimpl
    def register_crm_backends(self, register: object) -> None:
        register(self.backend.name, lambda cabinet: self.backend)  # type: ignore[operator]


def _cabinet(store: Store, *backends: ScriptedBackend, max_attempts: int = 10) -> Cabinet:
    names = tuple(backend.name for backend in backends) or ("null",)
    settings = Settings(crm_backends=names, worker_max_attempts=max_attempts)
    plugins = [BackendPlugin(backend) for backend in backends]
    return Cabinet(settings, plugins=plugins, load_entrypoints=False, store=store)


def _queue(store: Store, count: int = 1, *, to: Sequence[str] = ("scripted",)) -> list[int]:
    """Queue ``count`` messages, each with a delivery to the subscribers ``to``."""
    with store.transaction() as tx:
        return [
            tx.add_outbox(
                OutboxMessage(topic="document.created", entity="document", entity_id=n),
                subscribers=to,
            ).id
            or 0
            for n in range(count)
        ]


def _pending(store: Store) -> list[OutboxMessage]:
    return store.list_outbox(status="pending")


def test_the_null_backend_is_the_default_and_drains_the_outbox(store: Store) -> None:
    cabinet = _cabinet(store)
    [null] = cabinet.crm_backends()
    assert isinstance(null, NullBackend) and isinstance(null, CrmBackend)
    ids = _queue(store, 3, to=("null",))
    worker = Worker(cabinet, clock=FakeClock(T0))
    assert worker.run_once() == 3
    assert worker.run_once() == 0
    assert null.delivered == 3
    delivered = store.list_outbox(status="delivered")
    assert sorted(m.id for m in delivered) == ids
    assert all(m.delivered_at == T0 and m.attempts == 1 for m in delivered)


def test_batches_are_limited(store: Store) -> None:
    _queue(store, 5, to=("null",))
    worker = Worker(_cabinet(store), batch_size=2, clock=FakeClock(T0))
    assert [worker.run_once() for _ in range(4)] == [2, 2, 1, 0]


class WideBackend(ScriptedBackend):
    """A batch backend whose pipeline wants claims of 7 (``PreferredClaim``)."""

    name = "wide"
    claim_size = 7

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def deliver_many(
        self, port: SyncPort, messages: Sequence[OutboxMessage]
    ) -> dict[int, Exception | None]:
        self.batches.append(len(messages))
        return {message.id or 0: None for message in messages}


def test_a_backend_may_ask_for_wider_claims(store: Store) -> None:
    backend = WideBackend()
    _queue(store, 10, to=("wide",))
    worker = Worker(_cabinet(store, backend), batch_size=2, clock=FakeClock(T0))
    assert [worker.run_once() for _ in range(3)] == [7, 3, 0]
    assert backend.batches == [7, 3]
    # The mail and the other subscribers keep the configured claim.
    _queue(store, 3, to=("null",))
    assert Worker(_cabinet(store), batch_size=2, clock=FakeClock(T0)).run_once() == 2


def test_every_active_backend_gets_the_message(store: Store) -> None:
    first, second = ScriptedBackend(), ScriptedBackend()
    second.name = "second"
    [message_id] = _queue(store, to=("scripted", "second"))
    # One delivery per backend, each claimed and marked on its own.
    assert Worker(_cabinet(store, first, second), clock=FakeClock(T0)).run_once() == 2
    assert first.calls == [message_id] and second.calls == [message_id]


def test_failures_are_retried_with_growing_backoff(store: Store) -> None:
    backend = ScriptedBackend([DeliveryError("503 busy"), DeliveryError("503 again")])
    clock = FakeClock(T0)
    worker = Worker(_cabinet(store, backend), clock=clock, rng=random.Random(7))
    [message_id] = _queue(store)

    assert worker.run_once() == 1
    [waiting] = _pending(store)
    assert waiting.last_error == "503 busy" and waiting.attempts == 1
    assert waiting.next_attempt_at is not None
    assert T0 + timedelta(seconds=1) <= waiting.next_attempt_at <= T0 + timedelta(seconds=2)
    assert worker.run_once() == 0  # not due yet

    clock.now = waiting.next_attempt_at
    assert worker.run_once() == 1
    [waiting] = _pending(store)
    assert waiting.attempts == 2 and waiting.last_error == "503 again"
    assert waiting.next_attempt_at is not None
    delay = waiting.next_attempt_at - clock.now
    assert timedelta(seconds=2) <= delay <= timedelta(seconds=4)

    clock.now = waiting.next_attempt_at
    assert worker.run_once() == 1
    assert _pending(store) == []
    [done] = store.list_outbox(status="delivered")
    assert done.id == message_id and done.attempts == 3 and done.delivered_at == clock.now
    assert backend.calls == [message_id] * 3


def test_retry_after_from_the_backend_wins_over_backoff(store: Store) -> None:
    backend = ScriptedBackend([DeliveryError("429 Too Many Requests", retry_after=90)])
    worker = Worker(_cabinet(store, backend), clock=FakeClock(T0))
    _queue(store)
    worker.run_once()
    [waiting] = _pending(store)
    assert waiting.next_attempt_at == T0 + timedelta(seconds=90)


def test_a_deferred_delivery_waits_without_spending_its_attempts(store: Store) -> None:
    # A recipient waiting out a limit (or a reinstall) says "not now" many more times than
    # the attempts allow: the message is never failed, and its count says what was tried.
    waits = [DeliveryError("429 operating limit", retry_after=600, deferred=True)] * 12
    backend = ScriptedBackend([DeliveryError("503 busy"), *waits])
    clock = FakeClock(T0)
    worker = Worker(_cabinet(store, backend, max_attempts=3), clock=clock)
    [message_id] = _queue(store)
    worker.run_once()
    assert _pending(store)[0].attempts == 1
    for _ in range(12):
        clock.advance(BACKOFF_CAP_SECONDS)
        assert worker.run_once() == 1
        [waiting] = _pending(store)
        # Claimed (attempts 2), then given back: the earlier real failure still counts.
        assert waiting.attempts == 1 and waiting.last_error == "429 operating limit"
        assert waiting.next_attempt_at == clock.now + timedelta(seconds=600)
    assert store.list_outbox(status="failed") == []
    clock.advance(600)
    assert worker.run_once() == 1
    [done] = store.list_outbox(status="delivered")
    assert done.id == message_id and done.attempts == 2
    assert len(backend.calls) == 14


def test_a_delivery_error_is_permanent_or_deferred_not_both() -> None:
    with pytest.raises(ValueError):
        DeliveryError("?", permanent=True, deferred=True)


def test_a_permanent_error_fails_at_once(store: Store) -> None:
    backend = ScriptedBackend([DeliveryError("400 invalid field", permanent=True)])
    worker = Worker(_cabinet(store, backend), clock=FakeClock(T0))
    [message_id] = _queue(store)
    assert worker.run_once() == 1
    [failed] = store.list_outbox(status="failed")
    assert (failed.id, failed.last_error, failed.failed_at) == (message_id, "400 invalid field", T0)
    assert _pending(store) == []


def test_gives_up_after_max_attempts(store: Store) -> None:
    # A backend bug (not a DeliveryError) is retried like any failure, then given up on.
    backend = ScriptedBackend([KeyError("UF_CRM_NIP")] * 10)
    clock = FakeClock(T0)
    worker = Worker(_cabinet(store, backend, max_attempts=3), clock=clock)
    [message_id] = _queue(store)
    for _ in range(6):
        worker.run_once()
        clock.advance(BACKOFF_CAP_SECONDS)
    assert backend.calls == [message_id] * 3
    [failed] = store.list_outbox(status="failed")
    assert failed.attempts == 3 and failed.last_error == "KeyError: 'UF_CRM_NIP'"
    assert store.list_outbox(status="delivered") == []


@given(attempts=st.integers(min_value=1, max_value=200), seed=st.integers())
def test_backoff_doubles_from_2_seconds_up_to_an_hour_with_jitter(attempts: int, seed: int) -> None:
    ceiling = min(3600.0, 2.0 * 2 ** (attempts - 1))
    delay = backoff_delay(attempts, random.Random(seed))
    assert ceiling / 2 <= delay <= ceiling


def test_run_forever_delivers_then_stops(store: Store) -> None:
    _queue(store, 4, to=("null",))
    stop = threading.Event()
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        stop.set()  # the first idle moment ends the loop

    cabinet = _cabinet(store)
    Worker(cabinet, batch_size=3, clock=FakeClock(T0), sleep=fake_sleep).run_forever(
        stop, idle_sleep=0.5
    )
    assert sleeps == [0.5]
    assert len(store.list_outbox(status="delivered")) == 4


def test_run_forever_survives_a_database_outage(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.migrate()
    _queue(store, 2, to=("null",))
    stop = threading.Event()
    sleeps: list[float] = []
    real_claim = store.claim_outbox
    outages = [sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))]

    def flaky_claim(**kwargs: object) -> list[OutboxMessage]:
        if outages:
            raise outages.pop()
        return real_claim(**kwargs)  # type: ignore[arg-type]

    store.claim_outbox = flaky_claim  # type: ignore[method-assign]

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            stop.set()

    try:
        Worker(_cabinet(store), clock=FakeClock(T0), sleep=fake_sleep).run_forever(stop, 0.25)
        assert len(store.list_outbox(status="delivered")) == 2
        assert 1 <= sleeps[0] <= 2 and sleeps[1] == 0.25
    finally:
        store.close()


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import sqlalchemy as sa
    from cabinet_core import Cabinet, Settings, hookimpl
    from cabinet_core.worker import Worker

    url, name, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    engine = sa.create_engine(url)

    class Recording:
        name = "recording"

        def deliver(self, cabinet, message):
            with engine.begin() as connection:
                connection.execute(
                    sa.text("INSERT INTO deliveries (message_id, worker) VALUES (:m, :w)"),
                    {"m": message.id, "w": name},
                )
            time.sleep(0.002)

    class Plugin:
        @hookimpl
        def register_crm_backends(self, register):
            register("recording", lambda cabinet: Recording())

    settings = Settings(database_url=url, crm_backends=("recording",))
    cabinet = Cabinet(settings, plugins=[Plugin()], load_entrypoints=False)
    worker = Worker(cabinet, batch_size=5)
    (gate / f"ready-{name}").touch()
    while not (gate / "go").exists():
        time.sleep(0.01)
    idle = 0
    while idle < 3:
        if worker.run_once():
            idle = 0
        else:
            idle += 1
            time.sleep(0.05)
    cabinet.close()
    """
)


@pytest.mark.postgres
@pytest.mark.slow
def test_several_worker_processes_deliver_each_message_exactly_once(
    pg_test_url: str, tmp_path: Path
) -> None:
    pg_url = pg_test_url
    store = Store.from_url(pg_url)
    store.migrate()
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE deliveries (message_id integer NOT NULL, worker text NOT NULL)"
        )
    try:
        ids = set(_queue(store, 300, to=("recording",)))
        script = tmp_path / "worker.py"
        script.write_text(WORKER_SCRIPT)
        names = [f"w{n}" for n in range(4)]
        processes = [
            subprocess.Popen([sys.executable, str(script), pg_url, name, str(tmp_path)])
            for name in names
        ]
        try:
            deadline = time.monotonic() + 120
            while not all((tmp_path / f"ready-{name}").exists() for name in names):
                assert all(p.poll() is None for p in processes), "a worker died while starting"
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.05)
            (tmp_path / "go").touch()
            assert [p.wait(timeout=300) for p in processes] == [0, 0, 0, 0]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
        with store.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT message_id, worker FROM deliveries")).all()
        delivered = [row.message_id for row in rows]
        assert sorted(delivered) == sorted(ids)  # every message, none twice
        assert len({row.worker for row in rows}) >= 2  # the workers really ran side by side
        assert store.list_outbox(status="pending") == []
        assert len(store.list_outbox(status="delivered", limit=1000)) == 300
    finally:
        with store.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE deliveries")
        store.close()
