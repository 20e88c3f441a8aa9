"""Bitrix24's two limits (bitrix24.md §2.1, §2.2).

* The request rate: a leaky bucket per portal, ``burst`` requests deep, draining ``drain`` a
  second (standard plans 50 and 2/s, Enterprise 250 and 5/s). A request that would overflow it
  is refused with ``503 QUERY_LIMIT_EXCEEDED``; a batch is one request.
* The resource ("operating") limit: per credential and method, the server time spent in ten
  one-minute baskets. A method whose sum already exceeds the limit is refused with
  ``429 OPERATION_TIME_LIMIT`` before it runs; the call that crosses the limit still runs.
"""

from __future__ import annotations

from collections import defaultdict

import attrs


@attrs.frozen
class Plan:
    """A tariff's request-rate limits."""

    name: str
    burst: int
    drain: float


STANDARD = Plan("standard", burst=50, drain=2.0)
ENTERPRISE = Plan("enterprise", burst=250, drain=5.0)
#: No request-rate limit at all: for measuring the emulator itself (benchmarks), never a
#: portal a connector should expect.
UNLIMITED = Plan("unlimited", burst=10**12, drain=1e12)
PLANS = {plan.name: plan for plan in (STANDARD, ENTERPRISE, UNLIMITED)}


class LeakyBucket:
    """``level = max(0, level - drain * elapsed)``; refuse when ``level + 1 > burst``."""

    def __init__(self, plan: Plan = STANDARD) -> None:
        self.plan = plan
        self.level = 0.0
        self._last: float | None = None

    def _drain(self, now: float) -> None:
        if self._last is not None:
            self.level = max(0.0, self.level - self.plan.drain * (now - self._last))
        self._last = now

    def try_take(self, now: float) -> bool:
        """Count one request at ``now``; ``False`` (and nothing counted) when it overflows."""
        self._drain(now)
        if self.level + 1 > self.plan.burst:
            return False
        self.level += 1
        return True

    def wait_time(self, now: float) -> float:
        """Seconds until one more request would fit."""
        self._drain(now)
        excess = self.level + 1 - self.plan.burst
        return max(0.0, excess / self.plan.drain)


@attrs.define
class _Basket:
    opened: float
    seconds: float = 0.0


class OperatingLimiter:
    """Server time per ``(credential, method)`` in one-minute baskets that live ten minutes.

    A basket opens at the first call recorded after the previous basket's minute is over, and
    expires ``window`` seconds after it opened (the documented accounting).
    """

    def __init__(self, limit: float = 480.0, window: float = 600.0, basket: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.basket = basket
        self._baskets: dict[tuple[str, str], list[_Basket]] = defaultdict(list)

    def _live(self, key: tuple[str, str], now: float) -> list[_Basket]:
        baskets = self._baskets[key]
        baskets[:] = [b for b in baskets if b.opened + self.window > now]
        return baskets

    def operating(self, key: tuple[str, str], now: float) -> float:
        """Seconds accumulated for ``key`` in the live window."""
        return sum(b.seconds for b in self._live(key, now))

    def reset_at(self, key: tuple[str, str], now: float) -> float:
        """When the oldest live basket expires (``now + window`` when there is none)."""
        baskets = self._live(key, now)
        return baskets[0].opened + self.window if baskets else now + self.window

    def blocked(self, key: tuple[str, str], now: float) -> bool:
        """Whether the next call of ``key`` is refused."""
        return self.operating(key, now) > self.limit

    def record(self, key: tuple[str, str], now: float, seconds: float) -> None:
        """Add ``seconds`` of server time spent at ``now``."""
        baskets = self._live(key, now)
        if not baskets or baskets[-1].opened + self.basket <= now:
            baskets.append(_Basket(opened=now))
        baskets[-1].seconds += seconds
