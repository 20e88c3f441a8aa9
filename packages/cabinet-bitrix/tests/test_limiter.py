"""The client-side limiter against the emulator's limits, on one virtual clock: the leaky bucket
never lets the portal refuse a request, alone or from several threads, and the operating
budget holds a method back before the portal blocks it."""

from __future__ import annotations

import threading

import httpx
import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from bitrix24_emulator.limits import LeakyBucket as PortalBucket
from bitrix24_emulator.limits import Plan
from cabinet_bitrix.client import NO_RETRY, BitrixClient, BitrixError
from cabinet_bitrix.limiter import ENTERPRISE, STANDARD, OperatingBudget, RatePlan, RequestBucket
from emulated import Sleeper, emulated_client
from hypothesis import given, settings
from hypothesis import strategies as st


def test_500_calls_at_burst_50_and_2_per_second_are_never_refused():
    clock = VirtualClock()
    emulator = Emulator(clock=clock)
    client = emulated_client(emulator, clock, retry=NO_RETRY)
    start = clock.now()
    for _ in range(500):
        client.call("profile")  # NO_RETRY: a single 503 would raise here
    assert client.requests == 500
    # The first 50 go at once, the other 450 at the drain rate: 225 s, not a second less.
    assert clock.now() - start == pytest.approx(225.0, abs=0.1)
    assert client.bucket.waited == pytest.approx(225.0, abs=0.1)


def test_enterprise_plan_allows_its_deeper_burst():
    clock = VirtualClock()
    emulator = Emulator(EmulatorConfig(plan=Plan("enterprise", 250, 5.0)), clock=clock)
    client = emulated_client(emulator, clock, plan=ENTERPRISE, retry=NO_RETRY)
    for _ in range(250):
        client.call("profile")
    assert client.bucket.waited == 0
    client.call("profile")
    assert client.bucket.waited == pytest.approx(0.2, abs=1e-3)


class ThreadsTime:
    """Virtual time for several threads, as real time passes for all of them at once: a
    thread's sleep waits until the clock reaches its wake time, and the clock moves on (to the
    earliest wake time) only when every thread is asleep or done. (A sleep that moved the
    shared clock by itself would move it under another thread between the moment its bucket
    let a call go and the call's arrival, which real time does not do.)"""

    def __init__(self, clock: VirtualClock, threads: int) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._running = threads
        self._asleep: list[list[float]] = []

    def sleep(self, seconds: float) -> None:
        with self._cond:
            entry = [self.clock.now() + max(seconds, 0.0)]
            self._asleep.append(entry)
            self._running -= 1
            self._move_on()
            while entry in self._asleep:
                self._cond.wait()

    def done(self) -> None:
        with self._cond:
            self._running -= 1
            self._move_on()

    def _move_on(self) -> None:
        if self._running > 0 or not self._asleep:
            return
        earliest = min(entry[0] for entry in self._asleep)
        self.clock.advance(earliest - self.clock.now())
        now = self.clock.now()
        for entry in [entry for entry in self._asleep if entry[0] <= now]:
            self._asleep.remove(entry)
            self._running += 1
        self._cond.notify_all()


def test_several_threads_share_one_bucket_without_overrunning_the_portal():
    clock = VirtualClock()
    emulator = Emulator(clock=clock)
    time = ThreadsTime(clock, threads=4)
    bucket = RequestBucket(STANDARD, clock=clock.now, sleep=time.sleep)
    start = clock.now()
    errors: list[BaseException] = []

    def work() -> None:
        # Each thread its own client (connection pool), all on the process's one bucket.
        client = emulated_client(emulator, clock, retry=NO_RETRY, bucket=bucket, sleep=time.sleep)
        try:
            for _ in range(125):
                client.call("profile")  # NO_RETRY: a single refusal would raise here
        except BaseException as exc:
            errors.append(exc)
        finally:
            time.done()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(emulator.requests) == 500
    # The first 50 go at once, the other 450 at the drain rate, whichever thread sends them.
    assert clock.now() - start == pytest.approx(225.0, abs=0.5)


def test_a_refusal_caused_by_another_client_saturates_the_bucket_and_is_retried():
    clock = VirtualClock()
    emulator = Emulator(clock=clock)
    other = emulated_client(emulator, clock, retry=NO_RETRY)
    for _ in range(50):
        other.call("profile")
    client = emulated_client(emulator, clock)
    assert client.call("profile")["ID"] == "1"
    assert client.retries == 1
    assert client.bucket.waited == pytest.approx(0.5, abs=1e-3)


def test_the_operating_budget_paces_a_slow_method_below_the_limit():
    clock = VirtualClock()
    # 50 s of server time per call: ten calls would be 500 s, over the 480 s limit.
    emulator = Emulator(EmulatorConfig(method_seconds={"profile": 50.0}), clock=clock)
    client = emulated_client(emulator, clock, retry=NO_RETRY)
    for _ in range(30):
        client.call("profile")  # NO_RETRY: a single 429 would raise here
    assert client.budget.waited > 0
    assert client.budget.operating("profile") <= 480
    # Other methods are not held back by profile's budget.
    waited = client.budget.waited
    client.call("user.current")
    assert client.budget.waited == waited


def test_a_blocked_method_waits_until_its_reset_when_told_by_a_429():
    clock = VirtualClock()
    emulator = Emulator(EmulatorConfig(method_seconds={"profile": 481.0}), clock=clock)
    other = emulated_client(emulator, clock, retry=NO_RETRY)
    start = clock.now()
    other.call("profile")  # another worker spent the budget (481 s from start)
    client = emulated_client(emulator, clock)
    with pytest.raises(BitrixError) as caught:
        client.call("profile")
    # Not knowing the reset time, it does not guess a basket: the documented block lasts
    # until the oldest request leaves the ten-minute window, which the worker waits out
    # (deferring the delivery) instead of this call.
    assert caught.value.transient and caught.value.retry_after == 600.0
    assert client.requests == 1 and clock.now() < start + 482
    clock.advance(600)
    client.call("profile")
    assert clock.now() >= start + 600


def test_a_refusal_that_names_its_reset_time_is_waited_that_long():
    clock = VirtualClock()
    body = {
        "error": "OPERATION_TIME_LIMIT",
        "error_description": "Method is blocked due to operation time limit.",
        "time": {"operating": 481.0, "operating_reset_at": clock.now() + 42},
    }
    answers = [httpx.Response(429, json=body), httpx.Response(200, json={"result": True})]
    client = BitrixClient(
        "https://portal.example/rest/1/x/",
        transport=httpx.MockTransport(lambda request: answers.pop(0)),
        clock=clock.now,
        sleep=clock.advance,
        bucket=RequestBucket(clock=clock.now, sleep=clock.advance),
        budget=OperatingBudget(clock=clock.now, sleep=clock.advance),
    )
    start = clock.now()
    assert client.call("crm.item.list") is True
    assert clock.now() - start == pytest.approx(42, abs=0.01)


def test_budget_counts_calls_in_flight():
    clock = VirtualClock()
    budget = OperatingBudget(limit=100, margin=0, clock=clock.now, sleep=clock.advance)
    budget.record("crm.item.add", {"duration": 30, "operating": 30, "operating_reset_at": 1e10})
    budget.begin("crm.item.add")
    budget.begin("crm.item.add")  # 30 + 2 x 30 = 90 fits
    assert clock.now() == VirtualClock().now()
    budget.end("crm.item.add", None)
    budget.end("crm.item.add", None)
    assert budget.blocked_until("crm.item.add") == 1e10


def test_plans_and_validation():
    assert (STANDARD.burst, STANDARD.drain) == (50, 2.0)
    assert (ENTERPRISE.burst, ENTERPRISE.drain) == (250, 5.0)
    with pytest.raises(ValueError, match="burst"):
        RequestBucket(RatePlan("broken", 0, 1.0))


@settings(max_examples=200, deadline=None)
@given(
    plan=st.sampled_from([STANDARD, ENTERPRISE, RatePlan("tiny", 3, 0.5)]),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=30, allow_nan=False),
            st.integers(min_value=0, max_value=80),
        ),
        max_size=30,
    ),
)
def test_property_the_portal_bucket_never_refuses_what_the_client_bucket_admits(plan, steps):
    clock = VirtualClock()
    sleeper = Sleeper(clock)
    client_bucket = RequestBucket(plan, clock=clock.now, sleep=sleeper)
    portal_bucket = PortalBucket(Plan(plan.name, plan.burst, plan.drain))
    sent = 0
    for pause, burst in steps:
        clock.advance(pause)
        for _ in range(burst):
            client_bucket.acquire()
            assert portal_bucket.try_take(clock.now())
            sent += 1
    # And it waits no longer than needed: the portal could not have taken one more at once
    # whenever the client waited.
    assert client_bucket.level <= plan.burst
    assert sum(sleeper.pauses) <= max(0.0, (sent - plan.burst) / plan.drain) + 1e-3 * sent
