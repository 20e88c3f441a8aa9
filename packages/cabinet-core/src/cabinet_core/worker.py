"""The outbox worker (``cabinet worker``): delivers queued changes to their subscribers.

Every message has one delivery per subscriber (see :mod:`cabinet_core.storage.outbox`): the
mail delivery (``mail.*`` topics, subscriber :data:`~cabinet_core.sync.MAIL_SUBSCRIBER`) or each
active CRM backend but the one the change came from. ``run_once`` claims a batch for each
subscriber in turn (mail first, then the plugins' outbox subscribers
(:mod:`cabinet_core.outbox_subscribers`, the KSeF sender), then the backends in
``settings.crm_backends`` order) under a
lease (see :meth:`cabinet_core.storage.Store.claim_outbox`) and hands it over: mail to the
cabinet's mail delivery service (``cabinet.mail_delivery.deliver``); to a CRM backend with its
sync port (``cabinet.sync_port(backend.name)``), a batch as one call to a backend that offers
batch delivery (:class:`~cabinet_core.sync.BatchDelivery`) and one by one otherwise.

Delivery is at least once, and each subscriber's state is its own: a delivery a recipient
refused is retried for that recipient alone, later, with exponential backoff and jitter, so one
failing CRM never makes another receive a message again and never holds up the mail. After
``settings.worker_max_attempts`` attempts, or at once for a permanent
:class:`~cabinet_core.crm.DeliveryError`, the delivery is marked failed and left for an admin.
A *deferred* :class:`~cabinet_core.crm.DeliveryError` (a limit the recipient waits out without
having tried) is retried after its ``retry_after`` with the attempt given back.

Several worker processes may run against one PostgreSQL database: claims use
``FOR UPDATE SKIP LOCKED``, so no two workers hold the same delivery.

``run_once`` also writes one queued report export per turn (``cabinet.reports``), with its
progress, so a long export never needs a request to stay open.

``run_forever`` also runs periodic tasks (:class:`~cabinet_core.crm.PeriodicTask`): those given
to the worker (run with the cabinet) and those the active backends declare
(:class:`~cabinet_core.sync.PeriodicWork`, run with the backend's port), such as a CRM
reconciliation pass.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cabinet_core.configuration import ConfigurationError
from cabinet_core.crm import BoundTask, DeliveryError, PeriodicTask, backend_periodic_tasks
from cabinet_core.health import record_heartbeat
from cabinet_core.outbox_subscribers import ScheduledWork
from cabinet_core.storage.store import utcnow
from cabinet_core.sync import MAIL_SUBSCRIBER, BatchDelivery, PreferredClaim

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.crm import CrmBackend
    from cabinet_core.entities import OutboxMessage

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "Worker",
    "backoff_delay",
]

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
#: How often a running worker records its heartbeat (``/readyz`` reads it).
HEARTBEAT_SECONDS = 15.0

_default_rng = random.Random()

#: Per message id, why its delivery failed (absent: delivered).
Errors = dict[int, Exception]


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1, 2, 3 …).

    The ceiling doubles from 2 s up to 1 h; the delay is drawn from its upper half ("equal
    jitter"), so retries of many messages that failed together spread out but never come
    back sooner than half the ceiling.
    """
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** max(attempts - 1, 0))
    source = rng if rng is not None else _default_rng
    return ceiling / 2 + source.uniform(0, ceiling / 2)


class Worker:
    """Drains the outbox of one cabinet.

    ``clock`` returns an aware UTC now and ``sleep`` waits (tests pass fakes); ``rng`` draws
    the jitter. ``lease_seconds`` must exceed the time one batch can take, or another worker
    may take the same messages when the lease runs out. ``periodic`` adds tasks to those the
    active backends declare; ``run_forever`` runs them on schedule.
    """

    def __init__(
        self,
        cabinet: Cabinet,
        *,
        batch_size: int | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], object] | None = None,
        lease_seconds: int = 600,
        rng: random.Random | None = None,
        periodic: Iterable[PeriodicTask[Cabinet]] = (),
    ) -> None:
        self.cabinet = cabinet
        self.batch_size = batch_size or cabinet.settings.worker_batch_size
        self.clock = clock or utcnow
        self.sleep = sleep
        self.lease_seconds = lease_seconds
        self.rng = rng or random.Random()
        self.max_attempts = cabinet.settings.worker_max_attempts
        self.periodic = [BoundTask(task, cabinet) for task in periodic]
        self._tasks: list[BoundTask] | None = None
        self._next_run: dict[int, datetime] = {}
        self._last_heartbeat: datetime | None = None

    def run_once(self) -> int:
        """Claim one batch per subscriber and deliver it; returns how many deliveries were
        handled.

        Handled means delivered, scheduled for a retry or marked failed; 0 means no subscriber
        had anything due.
        """
        handled = self._run_subscriber(MAIL_SUBSCRIBER, self._deliver_mail_batch)
        # Then the plugins' outbox subscribers (the KSeF sender), each with its own deliveries.
        for name in self.cabinet.outbox_subscriber_names:
            handled += self._run_subscriber(
                name, functools.partial(self._deliver_to_subscriber, name)
            )
        # Deliveries are addressed by the name a backend is registered and activated under.
        names = self.cabinet.settings.crm_backends
        for name, backend in zip(names, self.cabinet.crm_backends(), strict=True):
            limit = self.batch_size
            if isinstance(backend, PreferredClaim):
                limit = max(limit, backend.claim_size)
            handled += self._run_subscriber(
                name, functools.partial(self._deliver_to, name, backend), limit=limit
            )
        # Report exports too long to download at once are written here, one per turn, so a
        # 100,000-row export never holds up the deliveries for long.
        reports = getattr(self.cabinet, "reports", None)
        if reports is not None:
            handled += reports.run_export_jobs(limit=1)
        return handled

    def _run_subscriber(
        self,
        subscriber: str,
        deliver: Callable[[Sequence[OutboxMessage]], Errors],
        *,
        limit: int | None = None,
    ) -> int:
        store = self.cabinet.store
        messages = store.claim_outbox(
            subscriber=subscriber,
            limit=limit or self.batch_size,
            now=self.clock(),
            lease_seconds=self.lease_seconds,
        )
        if not messages:
            return 0
        errors = deliver(messages)
        delivered = [_id(message) for message in messages if _id(message) not in errors]
        store.mark_delivered_many(delivered, subscriber=subscriber, now=self.clock())
        if delivered:
            self.cabinet.metrics.deliveries.labels(subscriber=subscriber, outcome="delivered").inc(
                len(delivered)
            )
        for message in messages:
            error = errors.get(_id(message))
            if error is not None:
                self._failed_attempt(subscriber, message, error)
        return len(messages)

    def _deliver_mail_batch(self, messages: Sequence[OutboxMessage]) -> Errors:
        errors: Errors = {}
        for message in messages:
            error = self._deliver_mail(message)
            if error is not None:
                errors[_id(message)] = error
        return errors

    def _deliver_mail(self, message: OutboxMessage) -> Exception | None:
        service = getattr(self.cabinet, "mail_delivery", None)
        if service is None:
            return DeliveryError("no mail delivery service is installed")
        try:
            service.deliver(self.cabinet, message)
        except Exception as exc:
            _log_unexpected(exc, message)
            return exc
        return None

    def _deliver_to_subscriber(
        self, name: str, messages: Sequence[OutboxMessage]
    ) -> dict[int, Exception]:
        """The messages the outbox subscriber ``name`` did not accept, with why."""
        try:
            subscriber = self.cabinet.outbox_subscriber(name)
        except ConfigurationError:
            raise
        except Exception as exc:
            # A factory that cannot build its subscriber (bad settings) fails this batch only.
            log.exception("outbox subscriber %s cannot be built", name)
            return {_id(m): exc for m in messages}
        errors: dict[int, Exception] = {}
        for message in messages:
            try:
                subscriber.deliver(message)
            except Exception as exc:
                _log_unexpected(exc, message)
                errors[_id(message)] = exc
        return errors

    def _deliver_to(
        self, name: str, backend: CrmBackend, messages: Sequence[OutboxMessage]
    ) -> dict[int, Exception]:
        """The messages ``backend`` (active under ``name``) did not accept, with why."""
        # The port is the registered name's: deliveries, origin and state are keyed by it.
        port = self.cabinet.sync_port(name)
        if not isinstance(backend, BatchDelivery):
            errors: dict[int, Exception] = {}
            for message in messages:
                try:
                    backend.deliver(port, message)
                except ConfigurationError:
                    raise
                except Exception as exc:
                    _log_unexpected(exc, message)
                    errors[_id(message)] = exc
            return errors
        try:
            outcomes: Mapping[int, Exception | None] = backend.deliver_many(port, messages)
        except ConfigurationError:
            raise
        except Exception as exc:
            # The whole call failed (an outage before anything was sent, or a bug): every
            # message is retried; the backend's idempotency covers any it did push.
            for message in messages:
                _log_unexpected(exc, message)
            return {_id(m): exc for m in messages}
        errors = {}
        for message in messages:
            if _id(message) not in outcomes:
                errors[_id(message)] = DeliveryError(
                    f"backend {backend.name!r} gave no outcome for this message"
                )
                continue
            outcome = outcomes[_id(message)]
            if outcome is not None:
                _log_unexpected(outcome, message)
                errors[_id(message)] = outcome
        return errors

    def _failed_attempt(self, subscriber: str, message: OutboxMessage, exc: Exception) -> None:
        store = self.cabinet.store
        now = self.clock()
        if isinstance(exc, DeliveryError):
            error, retry_after, permanent = str(exc), exc.retry_after, exc.permanent
            deferred = exc.deferred
        else:
            error, retry_after, permanent = f"{type(exc).__name__}: {exc}", None, False
            deferred = False
        if deferred:
            # The recipient waits out a limit (or a reinstall) without having tried: the
            # attempt is given back, so a long wait never fails the message.
            delay = retry_after if retry_after is not None else backoff_delay(1, self.rng)
            store.mark_retry(
                _id(message),
                subscriber=subscriber,
                error=error,
                next_attempt_at=now + timedelta(seconds=delay),
                refund=True,
            )
            return
        if permanent or message.attempts >= self.max_attempts:
            log.warning(
                "outbox message %s failed for good for %s: %s", message.id, subscriber, error
            )
            self.cabinet.metrics.deliveries.labels(subscriber=subscriber, outcome="failed").inc()
            store.mark_failed(_id(message), subscriber=subscriber, error=error, now=now)
            try:
                self.cabinet.notifications.delivery_failed(message, subscriber=subscriber)
            except Exception:
                # Telling the admins must never stop the queue.
                log.exception("could not notify the admins of message %s", message.id)
            return
        self.cabinet.metrics.deliveries.labels(subscriber=subscriber, outcome="retry").inc()
        delay = (
            retry_after if retry_after is not None else backoff_delay(message.attempts, self.rng)
        )
        store.mark_retry(
            _id(message),
            subscriber=subscriber,
            error=error,
            next_attempt_at=now + timedelta(seconds=delay),
        )

    def periodic_tasks(self) -> list[BoundTask]:
        """The worker's own periodic tasks followed by those the active backends declare,
        each bound to what it runs with."""
        if self._tasks is None:
            self._tasks = (
                self.periodic
                + backend_periodic_tasks(self.cabinet, self.cabinet.crm_backends())
                + self._subscriber_tasks()
            )
        return self._tasks

    def _subscriber_tasks(self) -> list[BoundTask]:
        """The periodic tasks the outbox subscribers declare, each bound to its subscriber."""
        tasks: list[BoundTask] = []
        for name in self.cabinet.outbox_subscriber_names:
            try:
                subscriber = self.cabinet.outbox_subscriber(name)
                if isinstance(subscriber, ScheduledWork):
                    tasks.extend(
                        BoundTask(task, subscriber) for task in subscriber.periodic_tasks()
                    )
            except Exception:
                log.exception("outbox subscriber %s: its periodic tasks cannot be read", name)
        return tasks

    def run_due_tasks(self) -> list[str]:
        """Run the periodic tasks that are due (all of them the first time); their names.

        A task that raises is logged and scheduled again like one that succeeded, so a
        CRM outage during a reconciliation pass costs one pass, not the worker.
        """
        ran: list[str] = []
        for index, task in enumerate(self.periodic_tasks()):
            due = self._next_run.get(index)
            now = self.clock()
            if due is not None and now < due:
                continue
            try:
                task()
            except ConfigurationError:
                raise
            except Exception:
                log.exception("periodic task %s failed", task.name)
            # Scheduled from when the run ended, so a slow pass never piles up runs.
            self._next_run[index] = self.clock() + timedelta(seconds=task.interval_seconds)
            ran.append(task.name)
        return ran

    def _seconds_to_next_task(self) -> float | None:
        if not self._next_run:
            return None
        soonest = min(self._next_run.values())
        return max((soonest - self.clock()).total_seconds(), 0.0)

    def run_forever(self, stop_event: threading.Event, idle_sleep: float = 1.0) -> None:
        """Deliver until ``stop_event`` is set, sleeping ``idle_sleep`` when nothing is due.

        Periodic tasks run between batches when due; an idle wait ends early for the next
        one. A database error (a restart, a network blip) is logged and waited out with
        backoff instead of ending the worker.
        """
        wait = self.sleep or stop_event.wait
        errors = 0
        while not stop_event.is_set():
            self.heartbeat()
            try:
                self.run_due_tasks()
            except ConfigurationError:
                raise
            except Exception:
                # Reading the tasks failed (a backend's factory, the database): delivery
                # goes on; the tasks are read again next turn.
                log.exception("outbox worker: periodic tasks failed")
                self._tasks = None
            try:
                handled = self.run_once()
                errors = 0
            except ConfigurationError:
                # A setting that cannot work does not start working by retrying: stop, and let
                # the message reach whoever runs the worker.
                raise
            except Exception:
                errors += 1
                log.exception("outbox worker: batch failed (%s in a row)", errors)
                wait(min(backoff_delay(errors, self.rng), 60.0))
                continue
            if handled == 0:
                next_task = self._seconds_to_next_task()
                wait(idle_sleep if next_task is None else min(idle_sleep, next_task))

    def heartbeat(self) -> None:
        """Record that this worker is alive (``/readyz``), at most every
        :data:`HEARTBEAT_SECONDS`; a database that cannot take it is left to the batch, which
        logs it and backs off."""
        now = self.clock()
        if self._last_heartbeat is not None and (
            (now - self._last_heartbeat).total_seconds() < HEARTBEAT_SECONDS
        ):
            return
        try:
            record_heartbeat(self.cabinet.store, now=now)
        except Exception:
            return
        self._last_heartbeat = now

    @contextlib.contextmanager
    def in_thread(
        self, *, idle_sleep: float = 1.0, join_seconds: float = 120.0
    ) -> Iterator[threading.Thread]:
        """Run :meth:`run_forever` in a daemon thread while the ``with`` block runs (the demo,
        an embedding server); on leaving, a batch in flight finishes before it returns."""
        stop = threading.Event()
        runner = threading.Thread(
            target=self.run_forever,
            args=(stop,),
            kwargs={"idle_sleep": idle_sleep},
            name="worker",
            daemon=True,
        )
        runner.start()
        try:
            yield runner
        finally:
            stop.set()
            runner.join(timeout=join_seconds)


def _id(message: OutboxMessage) -> int:
    assert message.id is not None  # claimed rows always have one
    return message.id


def _log_unexpected(exc: Exception, message: OutboxMessage) -> None:
    # A DeliveryError is an expected outcome (logged when given up on); anything else is a
    # bug or an outage in a recipient, which must not stop the queue but deserves a trace.
    if not isinstance(exc, DeliveryError):
        log.error("outbox message %s: recipient raised", message.id, exc_info=exc)
