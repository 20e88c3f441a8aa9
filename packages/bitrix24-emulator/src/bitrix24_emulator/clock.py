"""Clocks for the emulator: the system clock for a served emulator, a virtual one for tests.

Simulated server time is "spent" by :meth:`Clock.sleep`; on a :class:`VirtualClock` that only
moves the clock forward, so a test of rate limits or slow portals runs in no real time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the emulator needs to know about time."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (simulated server time, slow faults)."""
        ...


class SystemClock:
    """Real time; ``sleep`` really sleeps (a served emulator behaving like a slow portal)."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that moves only when told to: by :meth:`advance` or by the emulator's ``sleep``."""

    def __init__(self, start: float = 1_764_240_000.0) -> None:
        self._now = start
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
