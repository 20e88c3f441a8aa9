"""Outbox subscribers a plugin registers: a recipient of addressed outbox topics.

The outbox has three kinds of recipients: the cabinet's mail delivery (``mail.*`` topics), the
active CRM backends (every other change) and **outbox subscribers** that plugins register with
the ``register_outbox_subscribers`` hook: ``register(name, factory)``, ``factory(cabinet)``
returning an :class:`OutboxSubscriber`. A subscriber receives the messages whose topic is
addressed to its name (:attr:`cabinet_core.sync.Topic.addressee`, e.g. ``ksef.send`` → ``ksef``);
the worker claims its deliveries and hands them to :meth:`OutboxSubscriber.deliver` one by one,
with the same retries, backoff, ``DeliveryError`` semantics and failure bookkeeping as a CRM
backend's (see :mod:`cabinet_core.worker`).

A subscriber that also has work on a schedule (polling a status, a daily pull) offers
:class:`ScheduledWork`; the worker runs its tasks, each ``run`` receiving the subscriber.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from cabinet_core.crm import PeriodicTask
    from cabinet_core.entities import OutboxMessage

__all__ = ["OutboxSubscriber", "ScheduledWork"]


@runtime_checkable
class OutboxSubscriber(Protocol):
    """Receives the outbox messages addressed to the name it is registered under."""

    def deliver(self, message: OutboxMessage) -> None:
        """Handle one message; raise :class:`cabinet_core.crm.DeliveryError` (or anything) to
        have it retried later. Delivery is at least once: handling a message twice must do what
        handling it once does."""
        ...


@runtime_checkable
class ScheduledWork(Protocol):
    """A subscriber with work the worker runs on a schedule."""

    def periodic_tasks(self) -> Iterable[PeriodicTask[Any]]:
        """The tasks; each task's ``run`` receives the subscriber itself."""
        ...
