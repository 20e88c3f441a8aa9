"""The CRM backend seam: the worker hands outbox messages to the active backends.

A backend is idempotent (a retried message must not create a second CRM item): it keeps the
external id it got, or looks the item up by the cabinet's id before creating it again.

Two optional extensions a backend may provide (the worker checks with ``getattr``, so the
protocol itself stays one method):

- ``deliver_many(cabinet, messages) -> Mapping[int, Exception | None]`` delivers a claimed batch
  at once, so 50 messages become a few CRM batch requests instead of 50 round trips. The
  mapping has one entry per message id: ``None`` for delivered, an exception (usually a
  :class:`DeliveryError`) for a failed message, which the worker retries or gives up on exactly
  as if ``deliver`` had raised it.
- ``periodic_tasks(cabinet) -> Iterable[PeriodicTask]``: work the worker loop runs on a schedule
  (a reconciliation pass, a news pull), because a CRM's own events may be lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage


class DeliveryError(Exception):
    """A delivery failed; ``retry_after`` (seconds) overrides the worker's backoff when given.

    ``permanent=True`` means retrying cannot help (the message is marked failed at once).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


@runtime_checkable
class CrmBackend(Protocol):
    """What a CRM backend provides to the core."""

    name: str

    def deliver(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        """Push one change to the CRM; raise :class:`DeliveryError` to retry later."""
        ...


@runtime_checkable
class BatchCrmBackend(CrmBackend, Protocol):
    """A backend that can also push a whole claimed batch in few requests."""

    def deliver_many(
        self, cabinet: Cabinet, messages: Sequence[OutboxMessage]
    ) -> Mapping[int, Exception | None]:
        """Push ``messages``; per message id, ``None`` if delivered or the error to retry on."""
        ...


@attrs.frozen
class PeriodicTask:
    """Something the worker loop runs every ``interval_seconds`` (first at start-up).

    ``run`` receives the cabinet; an exception is logged and the task runs again at its
    next turn, so one failing pass never stops delivery.
    """

    name: str
    interval_seconds: float = attrs.field(validator=attrs.validators.gt(0))
    run: Callable[[Cabinet], object]


def backend_periodic_tasks(cabinet: Cabinet, backends: Iterable[object]) -> list[PeriodicTask]:
    """The periodic tasks the given backends declare through ``periodic_tasks(cabinet)``."""
    tasks: list[PeriodicTask] = []
    for backend in backends:
        declare = getattr(backend, "periodic_tasks", None)
        if declare is None:
            continue
        try:
            tasks.extend(declare(cabinet))
        except Exception:
            # A backend that cannot say what to run on schedule must not stop delivery.
            log.exception("%s: its periodic tasks could not be read", getattr(backend, "name", "?"))
    return tasks
