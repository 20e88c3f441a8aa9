"""A Bitrix24 REST client on httpx, for an inbound webhook or an OAuth app (:mod:`.auth`).

A method is called by POSTing JSON to ``{base}{method}.json``. Every answer is inspected for
``error`` whatever its HTTP status, because some documented errors come with 200
(bitrix24.md §1.4). Each request first takes a unit of the shared :class:`RequestBucket` and
passes the method's :class:`OperatingBudget`, so the portal's limits are kept rather than hit.
When they are hit anyway (another client on the same portal) the reactions are:

* ``503 QUERY_LIMIT_EXCEEDED``: the bucket is assumed full, the call waits and is retried;
* ``429 OPERATION_TIME_LIMIT``: the method is blocked until its oldest request leaves the
  ten-minute window: ``operating_reset_at`` from the refusal or the method's last answer, else
  the whole window (600 s); waited here when short, else raised with that ``retry_after`` for
  the worker to defer the delivery without spending an attempt;
* ``401 expired_token`` (app mode): the token pair is refreshed and the call replayed (again
  if the portal says so again, up to the policy's attempts); an OAuth server that does not
  answer is retried like any outage, and a refresh refused for good (``invalid_grant``)
  raises a transient error marked ``reinstall``, which the worker defers;
* other 5xx, HTML error pages, timeouts and network errors: retried with exponential backoff;

each within :class:`RetryPolicy`'s bounds, after which the last :class:`BitrixError` is raised
(transient, so the outbox worker retries the message later). The seam for tests is httpx's
``transport=`` plus an injectable ``clock``/``sleep``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import httpx

from cabinet_bitrix.auth import (
    AuthError,
    BitrixAuth,
    RefreshUnanswered,
    ReinstallRequired,
    WebhookAuth,
)
from cabinet_bitrix.limiter import OperatingBudget, RequestBucket

#: Bitrix24's request-rate bucket drains two requests a second (standard plans); waiting one
#: second frees room for the retried request (bitrix24.md §2.1).
QUERY_LIMIT_RETRY_SECONDS = 1.0
#: The resource limit counts execution time over ten minutes (ten one-minute baskets); a
#: blocked method runs again once the oldest request has left that window, which without the
#: answer's ``time.operating_reset_at`` may take the whole window (bitrix24.md §2.2).
OPERATION_LIMIT_RETRY_SECONDS = 600.0

#: Errors answered before the method runs: the request changed nothing.
_UNSENT_CODES = {
    "QUERY_LIMIT_EXCEEDED",
    "OPERATION_TIME_LIMIT",
    "OVERLOAD_LIMIT",
    "expired_token",
    "invalid_token",
    "NO_AUTH_FOUND",
}
#: Errors that say "not now" rather than "never" (rate, resource and overload limits).
LIMIT_CODES = frozenset({"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "OVERLOAD_LIMIT"})
_TRANSIENT_CODES = LIMIT_CODES


class BitrixError(Exception):
    """A failed call: the portal's ``error`` code and ``error_description``, the HTTP status,
    whether retrying later may help, and how long to wait (seconds) when the portal says so."""

    def __init__(
        self,
        code: str,
        description: str = "",
        *,
        status: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.status = status
        self.transient = transient
        self.retry_after = retry_after
        #: The body of the request that failed (to tell which token an expiry was about).
        self.sent: Mapping[str, Any] | None = None
        #: Whether the portal certainly did nothing (refused before running the method), so
        #: even a create may be repeated as it is.
        self.unsent = code in _UNSENT_CODES
        #: Whether the app's tokens are gone for good (a refresh refused): only reinstalling
        #: the app on the portal helps.
        self.reinstall = False


@attrs.frozen(kw_only=True)
class BitrixResponse:
    """A success envelope: ``result`` plus, for list methods, ``total`` and ``next``."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: Mapping[str, Any] = attrs.field(factory=dict)


def _retry_after_header(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def reset_in(timing: Any, now: float) -> float | None:
    """Seconds until ``timing``'s ``operating_reset_at`` (an answer's ``time`` object), when
    it names one still ahead."""
    if not isinstance(timing, Mapping):
        return None
    try:
        reset_at = float(timing["operating_reset_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return reset_at - now if reset_at > now else None


def error_from(response: httpx.Response, body: Any, now: float | None = None) -> BitrixError | None:
    """The error an answer carries, or ``None`` for a success envelope. ``now`` (epoch
    seconds) reads an operating-limit refusal's own ``time.operating_reset_at``."""
    status = response.status_code
    if isinstance(body, Mapping) and "error" in body:
        code = str(body["error"])
        description = str(body.get("error_description", ""))
        # An expired token is fixed by a refresh; if the portal still says so after the
        # client's refreshes, a later attempt (with a fresh pair) is still worth it.
        transient = code in _TRANSIENT_CODES or code == "expired_token" or status >= 500
        retry_after = _retry_after_header(response)
        if retry_after is None and code == "QUERY_LIMIT_EXCEEDED":
            retry_after = QUERY_LIMIT_RETRY_SECONDS
        if retry_after is None and code == "OPERATION_TIME_LIMIT":
            # The refusal's own timing when it has one, else the whole window.
            given = reset_in(body.get("time"), now) if now is not None else None
            retry_after = given if given is not None else OPERATION_LIMIT_RETRY_SECONDS
        return BitrixError(
            code, description, status=status, transient=transient, retry_after=retry_after
        )
    if 300 <= status < 400:
        # The portal was renamed or moved; the webhook URL in the settings must change.
        location = response.headers.get("Location", "")
        return BitrixError("PORTAL_MOVED", f"redirected to {location}", status=status)
    if status >= 400 or not isinstance(body, Mapping) or "result" not in body:
        return BitrixError(
            "UNEXPECTED_ANSWER",
            f"HTTP {status}, {response.headers.get('Content-Type', 'no content type')}",
            status=status,
            transient=status >= 500 or status in (408, 429),
            retry_after=_retry_after_header(response),
        )
    return None


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How long the client keeps trying before it gives up visibly.

    ``attempts`` bounds the tries of one call (the first included); outages back off
    ``base * factor**n`` seconds, at most ``cap``; a limit wait longer than ``max_wait`` is not
    waited in-process but raised, its ``retry_after`` telling the worker when to come back.
    """

    attempts: int = 5
    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    max_wait: float = 600.0
    #: Retries after limit refusals (503/429), bounded by ``max_wait`` and by this count, so
    #: a portal refusing without end surfaces.
    limit_retries: int = 50
    #: The longest operating-limit block waited in-process; a longer one is raised with its
    #: ``retry_after`` (the worker defers the delivery without spending an attempt, and is
    #: free for other work meanwhile). Half the worker's default lease (600 s), so a claimed
    #: batch is never taken over by another worker while this one waits.
    limit_wait: float = 300.0

    def backoff(self, failures: int) -> float:
        """The pause after the ``failures``-th consecutive outage (1-based)."""
        return min(self.cap, self.base * self.factor ** max(failures - 1, 0))


#: One try, no waiting: the caller handles every error (tests of error mapping).
NO_RETRY = RetryPolicy(attempts=1, limit_retries=0)


class BitrixClient:
    """Calls REST methods on one portal.

    ``auth`` is a :class:`~cabinet_bitrix.auth.BitrixAuth` or an inbound webhook URL;
    ``bucket`` and ``budget`` pace requests (share one bucket among all clients of a portal in
    a process); ``transport`` replaces httpx's network transport; ``clock``/``sleep`` are the
    time source and the waiting (a virtual clock in tests). ``timeout`` is generous on reads
    because a portal may take up to 60 s per request.
    """

    def __init__(
        self,
        auth: BitrixAuth | str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        user_agent: str = "cabinet-bitrix/0.1",
        bucket: RequestBucket | None = None,
        budget: OperatingBudget | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.auth: BitrixAuth = WebhookAuth(auth) if isinstance(auth, str) else auth
        self.bucket = bucket if bucket is not None else RequestBucket(clock=clock, sleep=sleep)
        self.budget = budget if budget is not None else OperatingBudget(clock=clock, sleep=sleep)
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": user_agent},
        )
        #: Requests sent, retries and refreshes (reports, tests).
        self.requests = 0
        self.retries = 0

    def now(self) -> float:
        """The client's clock (epoch seconds)."""
        return self._clock()

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` with the client's ``sleep`` (callers' own backoff)."""
        if seconds > 0:
            self._sleep(seconds)

    @property
    def webhook_url(self) -> str | None:
        """The inbound webhook URL in webhook mode."""
        return self.auth.webhook_url if isinstance(self.auth, WebhookAuth) else None

    def _send(self, method: str, params: Mapping[str, Any]) -> BitrixResponse:
        url, body_out = self.auth.prepare(method, params)
        self.bucket.acquire()
        self.budget.begin(method)
        timing: Mapping[str, Any] | None = None
        try:
            self.requests += 1
            try:
                response = self._http.post(url, json=body_out)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Never reached the portal: repeating cannot do anything twice.
                refused = BitrixError("NETWORK", str(exc) or type(exc).__name__, transient=True)
                refused.unsent = True
                raise refused from exc
            except httpx.TimeoutException as exc:
                raise BitrixError(
                    "TIMEOUT", str(exc) or type(exc).__name__, transient=True
                ) from exc
            except httpx.TransportError as exc:
                raise BitrixError(
                    "NETWORK", str(exc) or type(exc).__name__, transient=True
                ) from exc
            try:
                body = response.json()
            except ValueError:
                body = None
            error = error_from(response, body, self._clock())
            if error is not None:
                error.sent = body_out
                if isinstance(body, Mapping) and isinstance(body.get("time"), Mapping):
                    # A refusal's timing holds the method's window too.
                    timing = body["time"]
                raise error
            assert isinstance(body, Mapping)  # error_from() returned None: an envelope
            timing = body.get("time") or {}
            return BitrixResponse(
                result=body["result"],
                total=body.get("total"),
                next=body.get("next"),
                time=timing,
            )
        finally:
            self.budget.end(method, timing)

    def operating_wait(self, method: str, failures: int = 1) -> float:
        """Seconds until ``method``, refused for the operating limit, runs again: until the
        reset time the refusal or the method's last answer named; a short backoff when that
        time has just passed (the portal rounds it to a second); else the whole ten-minute
        window, the documented worst case (bitrix24.md §2.2)."""
        now = self._clock()
        until = self.budget.blocked_until(method)
        if until is not None:
            return until - now
        last = self.budget.last_reset(method)
        if last is not None and now - last < OPERATION_LIMIT_RETRY_SECONDS / 10:
            return self.retry.backoff(failures)
        return OPERATION_LIMIT_RETRY_SECONDS

    def _pause(self, method: str, error: BitrixError, failures: int) -> float | None:
        """How long to wait before retrying after ``error``, or ``None`` to give up now."""
        if error.code == "QUERY_LIMIT_EXCEEDED":
            self.bucket.saturate()
            return 0.0  # the bucket itself now waits for a drained unit
        if error.code == "OPERATION_TIME_LIMIT":
            # The method is blocked until its oldest request leaves the ten-minute window:
            # the refusal's own timing (recorded in the budget), the last answer's, or the
            # whole window. A wait longer than ``limit_wait`` is not spent in-process: the
            # error goes up with it, and the worker defers the delivery that long.
            wait = self.operating_wait(method, failures)
            if wait > min(self.retry.limit_wait, self.retry.max_wait):
                error.retry_after = wait
                return None
            return max(wait, 0.0)
        if error.transient:
            return self.retry.backoff(failures)
        return None

    def call_full(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        repeatable: bool = True,
    ) -> BitrixResponse:
        """Call ``method`` with JSON ``params``; the whole success envelope, or
        :class:`BitrixError` once the retry policy is spent (transient for timeouts, network
        errors, limits and 5xx; permanent for API errors).

        ``repeatable=False`` marks a call that must not run twice (a create): it is retried
        only after errors that prove the portal did nothing (limits, expired tokens, refused
        connections); after a timeout or a 5xx the error is raised at once, for the caller to
        look up what was created before trying again."""
        given = dict(params or {})
        failures = 0
        limit_waited = 0.0
        retries_before = self.retries
        refreshes = 0
        while True:
            try:
                return self._send(method, given)
            except BitrixError as error:
                # A token may expire again between a refresh and the replay (a short-lived
                # token, another process refreshing): refresh each time, within the attempts.
                if (
                    error.code in ("expired_token", "invalid_token")
                    and refreshes < self.retry.attempts
                ):
                    refreshes += 1
                    try:
                        replay = self.auth.refresh(self._http, error.sent or {})
                    except RefreshUnanswered as exc:
                        # An outage of the OAuth server: retried like any other, within the
                        # policy's attempts (the call is sent again, expires again, and the
                        # refresh is tried again with the same refresh token).
                        failures += 1
                        if failures >= self.retry.attempts:
                            raise BitrixError("NETWORK", str(exc), transient=True) from exc
                        self.retries += 1
                        self._sleep(self.retry.backoff(failures))
                        continue
                    except AuthError as exc:
                        # Not fixable by retrying soon: the app needs reinstalling.
                        refused = BitrixError(
                            error.code,
                            str(exc),
                            status=error.status,
                            transient=True,
                            retry_after=self.retry.max_wait,
                        )
                        refused.reinstall = isinstance(exc, ReinstallRequired)
                        raise refused from exc
                    if replay:
                        continue
                if not repeatable and not error.unsent:
                    raise
                limited = error.code in ("QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT")
                if not limited:
                    # Limits are bounded by the time waited (max_wait), outages by attempts.
                    failures += 1
                if failures >= self.retry.attempts:
                    raise
                wait = self._pause(method, error, max(failures, 1))
                if wait is None:
                    raise
                limit_waited += wait if limited else 0.0
                tries = self.retries - retries_before
                if limit_waited > self.retry.max_wait or tries >= self.retry.limit_retries:
                    error.retry_after = error.retry_after or wait
                    raise
                self.retries += 1
                if wait > 0:
                    self._sleep(wait)

    def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, repeatable: bool = True
    ) -> Any:
        """Call ``method`` and return its ``result`` (see :meth:`call_full`)."""
        return self.call_full(method, params, repeatable=repeatable).result

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> BitrixClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
