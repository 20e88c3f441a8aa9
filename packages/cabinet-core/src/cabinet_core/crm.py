"""The CRM backend seam: the worker hands outbox messages to the active backends.

A backend is idempotent (a retried message must not create a second CRM item): it keeps the
external id it got, or looks the item up by the cabinet's id before creating it again.

Every method of a backend receives its :class:`~cabinet_core.sync.SyncPort` (from
``cabinet.sync_port(backend.name)``), all it may ask of the cabinet; the backend's factory,
registered through ``register_crm_backends``, is the one place that sees the
:class:`~cabinet_core.app.Cabinet` (it reads the configuration and composes the backend).

Optional capabilities are the declared protocols of :mod:`cabinet_core.sync`, which the worker
checks with ``isinstance``:

- :class:`~cabinet_core.sync.BatchDelivery` (``deliver_many(port, messages)``) delivers a
  claimed batch at once, so 50 messages become a few CRM batch requests instead of 50 round
  trips. The mapping has one entry per message id: ``None`` for delivered, an exception
  (usually a :class:`DeliveryError`) for a failed message, which the worker retries or gives
  up on exactly as if ``deliver`` had raised it.
- :class:`~cabinet_core.sync.PeriodicWork` (``periodic_tasks(port)``): work the worker loop
  runs on a schedule (a reconciliation pass, a news pull), because a CRM's own events may be
  lost. Each task's ``run`` receives the backend's port.
- :class:`~cabinet_core.sync.InboundCapable` (``inbound``): the handler of the calls the CRM
  makes to ``/hooks/{name}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

import attrs

from cabinet_core.sync import BatchDelivery, PeriodicWork

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage
    from cabinet_core.sync import SyncPort

#: What a periodic task's ``run`` receives: a backend's :class:`SyncPort`, or for the tasks
#: an embedder hands the worker itself, the cabinet.
Target = TypeVar("Target")


class DeliveryError(Exception):
    """A delivery failed; ``retry_after`` (seconds) overrides the worker's backoff when given.

    ``permanent=True`` means retrying cannot help (the message is marked failed at once).
    ``deferred=True`` means the recipient said "not now" before trying (a rate or resource
    limit it must wait out, credentials an admin must renew): the worker retries after
    ``retry_after`` and gives the attempt back, so waiting out a limit or a reinstall never
    uses up a message's attempts and never fails it.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        deferred: bool = False,
    ):
        if permanent and deferred:
            raise ValueError("a delivery error is either permanent or deferred, not both")
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.deferred = deferred


@runtime_checkable
class CrmBackend(Protocol):
    """What a CRM backend provides to the core."""

    name: str

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        """Push one change to the CRM; raise :class:`DeliveryError` to retry later."""
        ...


@runtime_checkable
class BatchCrmBackend(CrmBackend, BatchDelivery, Protocol):
    """A backend that can also push a whole claimed batch in few requests
    (:class:`~cabinet_core.sync.BatchDelivery`)."""


@attrs.frozen
class PeriodicTask(Generic[Target]):
    """Something the worker loop runs every ``interval_seconds`` (first at start-up).

    ``run`` receives the declaring backend's port (``PeriodicTask[SyncPort]``), or the cabinet
    for a task handed to the worker itself; an exception is logged and the task runs again at
    its next turn, so one failing pass never stops delivery.
    """

    name: str
    interval_seconds: float = attrs.field(validator=attrs.validators.gt(0))
    run: Callable[[Target], object]


@attrs.frozen
class BoundTask:
    """A periodic task with what its ``run`` receives: what the worker schedules."""

    task: PeriodicTask[Any]
    target: Any

    @property
    def name(self) -> str:
        """The task's name."""
        return self.task.name

    @property
    def interval_seconds(self) -> float:
        """Seconds between two runs."""
        return self.task.interval_seconds

    def __call__(self) -> object:
        """Run the task once."""
        return self.task.run(self.target)


def backend_periodic_tasks(cabinet: Cabinet, backends: Iterable[object]) -> list[BoundTask]:
    """The periodic tasks the given backends declare (:class:`~cabinet_core.sync.PeriodicWork`),
    each bound to its backend's port."""
    tasks: list[BoundTask] = []
    for backend in backends:
        if not isinstance(backend, PeriodicWork):
            continue
        name = getattr(backend, "name", "?")
        try:
            port = cabinet.sync_port(name)
            tasks.extend(BoundTask(task, port) for task in backend.periodic_tasks(port))
        except Exception:
            # A backend that cannot say what to run on schedule must not stop delivery.
            log.exception("%s: its periodic tasks could not be read", name)
    return tasks
