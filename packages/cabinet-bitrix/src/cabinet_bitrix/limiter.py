"""Client-side pacing for Bitrix24's two limits (bitrix24.md §2.1, §2.2).

* :class:`RequestBucket` mirrors the portal's request-rate leaky bucket (standard plans: 50 deep,
  draining 2 a second; Enterprise 250 and 5/s). Every HTTP request takes a unit *before* it is
  sent, so the portal — whose bucket has drained at least as long by the time the request
  arrives — never sees an overflow from this process. Threads share one bucket.
* :class:`OperatingBudget` tracks, per method, the server time the portal reports in
  ``time.operating`` / ``time.operating_reset_at``, and holds a method back until the oldest
  one-minute basket expires when its next call could push it over the limit (480 s in ten
  minutes); the portal would otherwise answer ``429 OPERATION_TIME_LIMIT`` for minutes.

Both take an injectable ``clock`` (epoch seconds, because ``operating_reset_at`` is a Unix
time) and ``sleep``, so tests run on a virtual clock in no real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

Clock = Callable[[], float]
#: Seconds added to every computed wait (see :meth:`RequestBucket.try_acquire`).
_SLACK = 1e-4
Sleep = Callable[[float], None]


@attrs.frozen
class RatePlan:
    """A tariff's request-rate limits: ``burst`` requests deep, draining ``drain`` a second."""

    name: str
    burst: int
    drain: float


STANDARD = RatePlan("standard", burst=50, drain=2.0)
ENTERPRISE = RatePlan("enterprise", burst=250, drain=5.0)
PLANS = {plan.name: plan for plan in (STANDARD, ENTERPRISE)}


class RequestBucket:
    """A thread-safe leaky bucket: ``level`` drains ``drain`` a second; :meth:`acquire` waits
    until one more request fits under ``burst`` and counts it."""

    def __init__(
        self,
        plan: RatePlan = STANDARD,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        if plan.burst < 1 or plan.drain <= 0:
            raise ValueError("a request bucket needs burst >= 1 and a positive drain rate")
        self.plan = plan
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._level = 0.0
        self._last: float | None = None
        #: Seconds spent waiting in :meth:`acquire` (for reports and tests).
        self.waited = 0.0

    def _drain(self, now: float) -> None:
        if self._last is not None and now > self._last:
            self._level = max(0.0, self._level - self.plan.drain * (now - self._last))
        if self._last is None or now > self._last:
            self._last = now

    @property
    def level(self) -> float:
        """The bucket's level now."""
        with self._lock:
            self._drain(self._clock())
            return self._level

    def try_acquire(self) -> float:
        """Count one request if it fits now and return 0; otherwise count nothing and return
        the seconds until it would fit."""
        with self._lock:
            self._drain(self._clock())
            excess = self._level + 1 - self.plan.burst
            if excess <= 0:
                self._level += 1
                return 0.0
            # A little more than exact: an epoch-sized float clock cannot represent
            # sub-microsecond waits, and rounding must never leave the portal's bucket fuller
            # than ours.
            return excess / self.plan.drain + _SLACK

    def acquire(self) -> None:
        """Block until one more request fits, then count it."""
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return
            self.waited += wait
            self._sleep(wait)

    def saturate(self) -> None:
        """The portal said ``QUERY_LIMIT_EXCEEDED`` (another client shares the bucket, bitrix24.md
        §2.1): assume it is full, so the next request waits for a drained unit."""
        with self._lock:
            self._drain(self._clock())
            self._level = max(self._level, float(self.plan.burst))


@attrs.define
class _MethodUse:
    operating: float = 0.0
    reset_at: float = 0.0
    #: The longest single call seen: how much one more call may add.
    longest: float = 0.0
    #: Calls sent but not answered yet (a batch's commands count one each), each counted at
    #: ``longest``.
    in_flight: int = 0


class OperatingBudget:
    """Per-method server time as the portal reports it, and pacing below ``limit``.

    ``margin`` seconds are kept free besides the longest call seen, since the call that crosses
    the limit still runs but every later one is refused until a basket expires.
    """

    def __init__(
        self,
        limit: float = 480.0,
        *,
        margin: float = 5.0,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.limit = limit
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._methods: dict[str, _MethodUse] = {}
        #: Seconds spent holding methods back (for reports and tests).
        self.waited = 0.0

    def operating(self, method: str) -> float:
        """The last ``operating`` the portal reported for ``method`` (0 if unknown or reset)."""
        with self._lock:
            use = self._methods.get(method.lower())
            if use is None or self._clock() >= use.reset_at:
                return 0.0
            return use.operating

    def _wait_for(self, use: _MethodUse, now: float, calls: int = 1) -> float:
        expected = use.operating + (use.in_flight + calls) * use.longest + self.margin
        if expected <= self.limit:
            return 0.0
        if now < use.reset_at:
            return use.reset_at - now
        # The oldest basket has expired, so the sum is lower than last reported, by an amount
        # only the next answer tells: let one call through and hold the others for its answer.
        if use.in_flight == 0:
            return 0.0
        return max(use.longest, 0.1)

    def begin(self, method: str, calls: int = 1) -> None:
        """Hold ``method`` back until ``calls`` more calls fit in the budget; count them in
        flight."""
        self.begin_many({method: calls})

    def begin_many(self, calls: Mapping[str, int]) -> None:
        """Hold back until every method's calls fit at once, then count them all in flight.

        All or nothing: a batch spends several methods' budgets, and holding one method's
        reservation while waiting for another's could leave two concurrent batches each
        waiting for the other's answer.
        """
        wanted = {method.lower(): count for method, count in calls.items() if count > 0}
        while True:
            with self._lock:
                now = self._clock()
                uses = {key: self._methods.setdefault(key, _MethodUse()) for key in wanted}
                wait = max(
                    (self._wait_for(use, now, wanted[key]) for key, use in uses.items()),
                    default=0.0,
                )
                if wait <= 0:
                    for key, use in uses.items():
                        use.in_flight += wanted[key]
                    return
            self.waited += wait
            self._sleep(wait)

    def end(self, method: str, timing: Mapping[str, Any] | None, calls: int = 1) -> None:
        """Record an answer's ``time`` object for ``method`` (``None`` when there was no
        answer) and release its ``calls`` in-flight slots."""
        key = method.lower()
        with self._lock:
            use = self._methods.setdefault(key, _MethodUse())
            use.in_flight = max(0, use.in_flight - calls)
            if timing:
                self._record(use, timing)

    def record(self, method: str, timing: Mapping[str, Any]) -> None:
        """Record a ``time`` object seen for ``method`` outside :meth:`begin`/:meth:`end` (the
        ``result_time`` entries of a batch's commands)."""
        with self._lock:
            self._record(self._methods.setdefault(method.lower(), _MethodUse()), timing)

    @staticmethod
    def _record(use: _MethodUse, timing: Mapping[str, Any]) -> None:
        try:
            duration = float(timing.get("duration", timing.get("processing", 0.0)) or 0.0)
        except (TypeError, ValueError):
            duration = 0.0
        use.longest = max(use.longest, duration)
        if "operating" in timing and "operating_reset_at" in timing:
            try:
                operating = float(timing["operating"])
                reset_at = float(timing["operating_reset_at"])
            except (TypeError, ValueError):
                return
            if reset_at == use.reset_at:
                # Answers of concurrent requests arrive in any order; within one window the
                # sum only grows, so an older, smaller report must not undo a newer one.
                operating = max(operating, use.operating)
            elif reset_at < use.reset_at:
                return  # a report from before the window last moved on
            use.operating, use.reset_at = operating, reset_at

    def last_reset(self, method: str) -> float | None:
        """The latest ``operating_reset_at`` reported for ``method``, even when past."""
        with self._lock:
            use = self._methods.get(method.lower())
            return use.reset_at if use is not None and use.reset_at > 0 else None

    def blocked_until(self, method: str) -> float | None:
        """When ``method`` becomes available again after a ``429`` (its known reset time)."""
        with self._lock:
            use = self._methods.get(method.lower())
            if use is None or use.reset_at <= self._clock():
                return None
            return use.reset_at
