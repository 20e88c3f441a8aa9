"""The outbox worker (``cabinet worker``): delivers queued changes to the active CRM backends.

Delivery is at least once. A message is claimed under a lease (see
:meth:`cabinet_core.storage.Store.claim_outbox`), handed to every active backend, and marked
delivered; if a backend raises, the whole message is retried later with exponential backoff and
jitter, so backends must be idempotent (a backend that already accepted the message sees it
again). After ``settings.worker_max_attempts`` attempts, or at once for a permanent
:class:`~cabinet_core.crm.DeliveryError`, the message is marked failed and left for an admin.

Several worker processes may run against one PostgreSQL database: claims use
``FOR UPDATE SKIP LOCKED``, so no two workers hold the same message.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cabinet_core.crm import DeliveryError
from cabinet_core.storage.store import utcnow

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.crm import CrmBackend
    from cabinet_core.entities import OutboxMessage

__all__ = ["BACKOFF_BASE_SECONDS", "BACKOFF_CAP_SECONDS", "Worker", "backoff_delay"]

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0

_default_rng = random.Random()


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
    may take the same messages when the lease runs out.
    """

    def __init__(
        self,
        cabinet: Cabinet,
        *,
        batch_size: int = 50,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], object] | None = None,
        lease_seconds: int = 600,
        rng: random.Random | None = None,
    ) -> None:
        self.cabinet = cabinet
        self.batch_size = batch_size
        self.clock = clock or utcnow
        self.sleep = sleep
        self.lease_seconds = lease_seconds
        self.rng = rng or random.Random()
        self.max_attempts = cabinet.settings.worker_max_attempts

    def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many messages were handled.

        Handled means delivered, scheduled for a retry or marked failed; 0 means the outbox
        had nothing due.
        """
        store = self.cabinet.store
        messages = store.claim_outbox(
            limit=self.batch_size, now=self.clock(), lease_seconds=self.lease_seconds
        )
        if not messages:
            return 0
        backends = self.cabinet.crm_backends()
        for message in messages:
            self._deliver(message, backends)
        return len(messages)

    def _deliver(self, message: OutboxMessage, backends: Sequence[CrmBackend]) -> None:
        store = self.cabinet.store
        assert message.id is not None  # claimed rows always have one
        try:
            for backend in backends:
                backend.deliver(self.cabinet, message)
        except DeliveryError as exc:
            self._failed_attempt(
                message, str(exc), retry_after=exc.retry_after, permanent=exc.permanent
            )
        except Exception as exc:
            # A bug or an outage in a backend must not stop the queue; retry like any failure.
            log.exception("outbox message %s: backend raised", message.id)
            self._failed_attempt(message, f"{type(exc).__name__}: {exc}")
        else:
            store.mark_delivered(message.id, now=self.clock())

    def _failed_attempt(
        self,
        message: OutboxMessage,
        error: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        store = self.cabinet.store
        assert message.id is not None
        now = self.clock()
        if permanent or message.attempts >= self.max_attempts:
            log.warning("outbox message %s failed for good: %s", message.id, error)
            store.mark_failed(message.id, error=error, now=now)
            return
        delay = (
            retry_after if retry_after is not None else backoff_delay(message.attempts, self.rng)
        )
        store.mark_retry(message.id, error=error, next_attempt_at=now + timedelta(seconds=delay))

    def run_forever(self, stop_event: threading.Event, idle_sleep: float = 1.0) -> None:
        """Deliver until ``stop_event`` is set, sleeping ``idle_sleep`` when nothing is due.

        A database error (a restart, a network blip) is logged and waited out with backoff
        instead of ending the worker.
        """
        wait = self.sleep or stop_event.wait
        errors = 0
        while not stop_event.is_set():
            try:
                handled = self.run_once()
                errors = 0
            except Exception:
                errors += 1
                log.exception("outbox worker: batch failed (%s in a row)", errors)
                wait(min(backoff_delay(errors, self.rng), 60.0))
                continue
            if handled == 0:
                wait(idle_sleep)
