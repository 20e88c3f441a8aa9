"""Timing helpers: the median of several rounds, each timing a batch of calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def per_call(
    fn: Callable[[], object],
    *,
    calls: int,
    rounds: int = 5,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median seconds per call of ``fn`` over ``rounds`` batches of ``calls`` calls.

    ``clock`` is wall time by default; CPU-bound work done wholly in this process (rendering a
    PDF) can be timed with :func:`time.process_time`, which other processes on a shared machine
    disturb far less.
    """
    samples = []
    for _ in range(rounds):
        start = clock()
        for _ in range(calls):
            fn()
        samples.append((clock() - start) / calls)
    return statistics.median(samples)


def alternating(
    fns: Sequence[Callable[[], object]],
    *,
    calls: int,
    rounds: int = 5,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Median seconds per call of each of ``fns``, timed in batches of ``calls`` that take
    turns round by round, so that a change of the machine's load reaches every side alike."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for index, fn in enumerate(fns):
            start = clock()
            for _ in range(calls):
                fn()
            samples[index].append((clock() - start) / calls)
    return [statistics.median(times) for times in samples]
