"""The leaky bucket and the operating limiter (emulator.limits), with hypothesis where the
rule is arithmetic."""

from __future__ import annotations

import pytest
from bitrix24_emulator.limits import ENTERPRISE, STANDARD, LeakyBucket, OperatingLimiter
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize("plan", [STANDARD, ENTERPRISE])
def test_a_full_burst_passes_and_the_next_request_does_not(plan):
    bucket = LeakyBucket(plan)
    assert all(bucket.try_take(0.0) for _ in range(plan.burst))
    assert not bucket.try_take(0.0)
    assert bucket.wait_time(0.0) == pytest.approx(1 / plan.drain)
    assert bucket.try_take(1 / plan.drain)


@given(st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=1, max_size=300))
def test_accepted_requests_never_exceed_burst_plus_drain(gaps):
    bucket = LeakyBucket(STANDARD)
    now, accepted = 0.0, 0
    for gap in gaps:
        now += gap
        accepted += bucket.try_take(now)
        assert 0 <= bucket.level <= STANDARD.burst
    assert accepted <= STANDARD.burst + STANDARD.drain * now + 1e-9


@given(st.integers(min_value=0, max_value=200))
def test_after_a_pause_the_bucket_has_drained_by_rate_times_pause(pause):
    bucket = LeakyBucket(STANDARD)
    for _ in range(STANDARD.burst):
        bucket.try_take(0.0)
    free = sum(bucket.try_take(float(pause)) for _ in range(STANDARD.burst + 1))
    assert free == min(STANDARD.burst, int(STANDARD.drain * pause))


def test_operating_sums_baskets_and_expires_the_oldest():
    limiter = OperatingLimiter(limit=480.0)
    key = ("webhook:1:x", "crm.item.add")
    limiter.record(key, 0.0, 200.0)
    limiter.record(key, 30.0, 100.0)  # the same one-minute basket
    limiter.record(key, 90.0, 200.0)  # a new basket
    assert limiter.operating(key, 100.0) == 500.0
    assert limiter.blocked(key, 100.0)
    assert not limiter.blocked(("webhook:1:x", "crm.item.list"), 100.0)
    assert limiter.reset_at(key, 100.0) == 600.0
    assert limiter.operating(key, 600.0) == 200.0
    assert not limiter.blocked(key, 600.0)


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=60))
def test_operating_is_the_sum_of_what_was_recorded_within_the_window(spent):
    limiter = OperatingLimiter()
    key = ("app:x", "batch")
    for n, seconds in enumerate(spent):
        limiter.record(key, float(n), seconds)  # all within the first minute's basket
    assert limiter.operating(key, 59.0) == pytest.approx(sum(spent))
    assert limiter.operating(key, 600.0) == 0.0
