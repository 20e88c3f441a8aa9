"""Sign-in throttling that a stranger cannot turn against an account's owner.

Failed sign-ins slow further attempts down; they never lock an account. Each attempt is counted
under keys, and each key has a :class:`ThrottlePolicy`: the first failures within the window are
free, then every further attempt must wait a delay that doubles with each failure, up to a cap.
An attempt refused because its delay has not passed yet is not checked and not counted, so it
cannot make the delay longer; the worst a stranger can do is keep one key at its cap.

The keys (see :func:`throttle_keys`):

* ``pair:EMAIL|ADDRESS``, the account from one address: the strict one
  (``settings.login_attempts`` free failures). A stranger guessing from one address slows only
  itself; an office of many people behind one address is not one key.
* ``account:EMAIL``, the account from anywhere: many more free failures
  (``settings.login_account_attempts``), so only guessing from many addresses at once slows
  the account for everyone.
* ``device:DEVICE|EMAIL``, instead of both, when the browser is a **known device** of the
  account (it signed in to it before; the web vouches for that with a signed cookie): the
  account's owner signs in with the right password while a stranger has the account throttled,
  and the device's own mistakes slow only the device.

A successful sign-in clears the keys it was counted under, and the account key as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from cabinet_core.errors import N_, AuthenticationFailed

__all__ = [
    "KnownDevice",
    "SignInThrottled",
    "ThrottleKey",
    "ThrottlePolicy",
    "account_key",
    "retry_after",
    "throttle_keys",
    "wait_left",
]


@attrs.frozen(kw_only=True)
class ThrottlePolicy:
    """How many failures within ``window`` are free and how the delay grows after them."""

    free_attempts: int
    window: timedelta
    max_delay: timedelta
    base_delay: timedelta = timedelta(seconds=1)

    def delay(self, failures: int) -> timedelta:
        """The wait after ``failures`` failed attempts (counted within the window): none while
        they are free, then 1 s, 2 s, 4 s … up to ``max_delay``."""
        if failures < self.free_attempts:
            return timedelta(0)
        # Capped before it is raised, so a long history never overflows the float.
        exponent = min(failures - self.free_attempts, 40)
        grown: timedelta = self.base_delay * (2**exponent)
        return min(grown, self.max_delay)


@attrs.frozen(kw_only=True)
class ThrottleKey:
    """One key an attempt is counted under, with its policy."""

    key: str
    policy: ThrottlePolicy


@attrs.frozen(kw_only=True)
class KnownDevice:
    """A browser that signed in before: ``device_id`` is its own random id and ``user_ids`` the
    accounts that signed in on it. The caller vouches for both (the web signs them in a cookie);
    the core only lets the device's attempts for those accounts skip the account's throttle."""

    device_id: str
    user_ids: frozenset[int] = frozenset()


class SignInThrottled(AuthenticationFailed):
    """Too many failed sign-ins: try again after ``retry_after`` seconds (nothing was checked)."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            N_("Too many failed attempts. Try again in %(seconds)s s."), seconds=retry_after
        )
        self.retry_after = retry_after


def throttle_keys(
    email: str,
    *,
    remote: str,
    device: str | None,
    pair: ThrottlePolicy,
    account: ThrottlePolicy,
) -> list[ThrottleKey]:
    """The keys a sign-in attempt for ``email`` is counted under (see the module's docstring);
    ``device`` is the id of a known device of this account, else ``None``."""
    normal = email.strip().lower()
    if device:
        return [ThrottleKey(key=f"device:{device}|{normal}", policy=pair)]
    keys = [ThrottleKey(key=account_key(email), policy=account)]
    if remote:
        keys.append(ThrottleKey(key=f"pair:{normal}|{remote}", policy=pair))
    return keys


def account_key(email: str) -> str:
    """The key of the account ``email`` from anywhere."""
    return f"account:{email.strip().lower()}"


def wait_left(
    policy: ThrottlePolicy, failures: int, last_failure: datetime | None, now: datetime
) -> timedelta:
    """How long an attempt must still wait under ``policy`` (zero: it may be checked now)."""
    if last_failure is None:
        return timedelta(0)
    return max(timedelta(0), last_failure + policy.delay(failures) - now)


def retry_after(waits: Iterable[timedelta]) -> int:
    """The longest of ``waits`` in whole seconds, rounded up (0 when none is left)."""
    longest = max(waits, default=timedelta(0))
    return math.ceil(longest.total_seconds()) if longest > timedelta(0) else 0
