"""Clocks for the emulator: the system clock when served, a virtual one for tests.

Everything that depends on time (challenge and token lifetimes, processing delays, the sliding
windows of the rate limits, ``Retry-After``) reads :meth:`Clock.now`, so a test moves a
:class:`VirtualClock` forward instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "SystemClock", "VirtualClock", "iso", "to_datetime"]


class Clock(Protocol):
    """What the emulator needs to know about time."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (the ``slow`` fault)."""
        ...


class SystemClock:
    """Real time; ``sleep`` really sleeps."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that moves only when told to: by :meth:`advance`, :meth:`set` or ``sleep``."""

    def __init__(self, start: float | datetime | None = None) -> None:
        if start is None:
            start = time.time()
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current virtual time."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` at once."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (negative values are ignored)."""
        with self._lock:
            self._now += max(seconds, 0.0)

    def set(self, moment: float | datetime) -> None:
        """Jump to ``moment`` (forward or back)."""
        with self._lock:
            self._now = moment.timestamp() if isinstance(moment, datetime) else float(moment)


def to_datetime(moment: float) -> datetime:
    """An epoch time as an aware UTC datetime."""
    return datetime.fromtimestamp(moment, tz=UTC)


def iso(moment: float | None) -> str | None:
    """ISO-8601 with offset and milliseconds, as KSeF writes its dates (``None`` stays)."""
    if moment is None:
        return None
    return to_datetime(moment).isoformat(timespec="milliseconds")
