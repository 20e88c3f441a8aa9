"""Several ``batch`` requests in flight at once, within the portal's limits.

Why: a portal spends tenths of a second of server time per CRM write, so a batch of 50 writes
may take a second or more to answer, while the request bucket lets a request through every
half second (standard plans). A client that waits for each answer before sending the next
reaches only a fraction of what the limits allow (about 0.25 at one second per batch); the
limits themselves are per request and per method's server time, not per connection, so the
rest is lost for nothing.

How: :func:`run_pipelined` hands batches to ``in_flight`` threads sharing one synchronous
:class:`~cabinet_bitrix.client.BitrixClient`. Each request still takes its unit of the shared
:class:`~cabinet_bitrix.limiter.RequestBucket` *before* it is sent, and each batch reserves its
commands in the :class:`~cabinet_bitrix.limiter.OperatingBudget` of their methods until its
answer arrives, so the accounting stays predictive however many requests are out: the portal
never sees an overflow, and a method close to its server-time limit is paced, not blocked.

Ordering: commands that refer to each other through ``$result`` (an item and its product rows)
must be in one batch (:func:`~cabinet_bitrix.batching.pack` keeps groups whole); batches in
flight together are independent of each other. Retries (``QUERY_LIMIT_EXCEEDED``,
``OPERATION_TIME_LIMIT``, 5xx, timeouts) happen inside the client for the batch that failed, as
a whole, so a group is never split by a retry either. A batch that cannot be repeated blindly
(``repeatable=False``: it creates) and failed in a way that may have run it comes back as an
error; the caller looks its items up before sending them again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import attrs

from cabinet_bitrix.batching import Command, CommandResult, run_batch
from cabinet_bitrix.client import BitrixClient, BitrixError

__all__ = ["DEFAULT_IN_FLIGHT", "PipelinedBatch", "creates_items", "run_pipelined"]

#: Enough to keep the standard plan's 2 requests a second busy with batches that take up to
#: about 2 s of server time each; the bucket, not this number, bounds the request rate.
DEFAULT_IN_FLIGHT = 4


@attrs.frozen(kw_only=True)
class PipelinedBatch:
    """One batch's outcome, in the order the batches were given.

    ``results`` has every command's :class:`CommandResult` by name when the request was
    answered; ``error`` is the request's own failure once the client's retries were spent
    (then ``results`` is ``None`` and, for a batch that was not repeatable, it may or may not
    have run).
    """

    index: int
    commands: Sequence[Command]
    results: dict[str, CommandResult] | None = None
    error: BitrixError | None = None

    @property
    def ok(self) -> bool:
        """Whether the request was answered (its commands may still have failed one by one)."""
        return self.error is None


def creates_items(commands: Sequence[Command]) -> bool:
    """Whether a batch adds something: such a batch is not repeatable after a timeout."""
    return any(command.method.lower().endswith(".add") for command in commands)


def _not_creating(commands: Sequence[Command]) -> bool:
    return not creates_items(commands)


def run_pipelined(
    client: BitrixClient,
    batches: Iterable[Sequence[Command]],
    *,
    in_flight: int = DEFAULT_IN_FLIGHT,
    halt: bool = False,
    repeatable: bool | Callable[[Sequence[Command]], bool] = _not_creating,
) -> Iterator[PipelinedBatch]:
    """Send ``batches`` with up to ``in_flight`` requests outstanding; yield their outcomes in
    the order given.

    ``batches`` is consumed lazily, at most ``in_flight`` ahead of what has been yielded.
    ``repeatable`` tells for a batch whether the client may resend it after an error that
    does not prove the portal did nothing (default: only batches without an ``*.add``).
    A :class:`BitrixError` ending one batch is reported in its :class:`PipelinedBatch` and the
    others go on; any other exception (a bug) stops the pipeline and is raised. Leaving the
    loop early waits for the requests already sent, then stops.
    """
    if in_flight < 1:
        raise ValueError("in_flight must be at least 1")
    decide = repeatable if callable(repeatable) else (lambda commands: bool(repeatable))
    source = iter(enumerate(batches))
    stop = threading.Event()

    def send(index: int, commands: Sequence[Command]) -> PipelinedBatch:
        if stop.is_set():
            raise _Cancelled
        try:
            results = run_batch(client, commands, halt=halt, repeatable=decide(commands))
        except BitrixError as error:
            return PipelinedBatch(index=index, commands=commands, error=error)
        return PipelinedBatch(index=index, commands=commands, results=results)

    if in_flight == 1:
        # No thread needed for one at a time; the same outcomes in the caller's thread.
        for index, commands in source:
            yield send(index, list(commands))
        return

    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="bitrix-pipeline")
    pending: deque[Future[PipelinedBatch]] = deque()
    try:
        for index, commands in source:
            pending.append(pool.submit(send, index, list(commands)))
            # Up to ``in_flight`` run while as many more wait their turn, so one slow batch
            # at the head does not idle the others (answers are still yielded in order).
            if len(pending) >= 2 * in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


class _Cancelled(Exception):
    """A queued batch not sent because the caller stopped reading."""
