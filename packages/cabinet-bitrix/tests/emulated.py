"""Clients on the emulator with one virtual clock: the client's pacing, backoff and the
portal's limits all read the same time, and waiting only moves it forward."""

from __future__ import annotations

from typing import Any

import httpx
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix.auth import BitrixAuth
from cabinet_bitrix.client import BitrixClient, RetryPolicy
from cabinet_bitrix.limiter import STANDARD, OperatingBudget, RatePlan, RequestBucket


class Sleeper:
    """``sleep`` for the client: advances the virtual clock and remembers each pause."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.advance(seconds)


def emulated_client(
    emulator: Emulator,
    clock: VirtualClock,
    auth: BitrixAuth | str | None = None,
    *,
    plan: RatePlan = STANDARD,
    retry: RetryPolicy | None = None,
    bucket: RequestBucket | None = None,
    transport: httpx.BaseTransport | None = None,
    **kwargs: Any,
) -> BitrixClient:
    """A client of ``emulator`` (its admin webhook unless ``auth`` is given) paced on
    ``clock``; ``transport`` wraps the emulator's own (to drop or delay answers)."""
    sleep = kwargs.pop("sleep", None) or Sleeper(clock)
    return BitrixClient(
        auth or emulator.webhook_url,
        transport=transport or emulator.transport(),
        bucket=bucket or RequestBucket(plan, clock=clock.now, sleep=sleep),
        budget=OperatingBudget(clock=clock.now, sleep=sleep),
        retry=retry,
        clock=clock.now,
        sleep=sleep,
        **kwargs,
    )
