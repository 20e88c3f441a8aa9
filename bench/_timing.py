"""Timing helpers: the median of several rounds, each timing a batch of calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def per_call(fn: Callable[[], object], *, calls: int, rounds: int = 5) -> float:
    """Median seconds per call of ``fn`` over ``rounds`` batches of ``calls`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)
