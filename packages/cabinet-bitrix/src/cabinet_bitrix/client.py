"""A small Bitrix24 REST client for inbound-webhook mode, on httpx.

The webhook URL (``https://PORTAL/rest/{user_id}/{code}/``) is permanent and carries its own
credentials; a method is called by POSTing JSON to ``{webhook_url}{method}.json``. Every answer
is inspected for ``error`` whatever its HTTP status, because some documented errors come with
200 (bitrix24.md §1.4). The seam for tests is httpx's ``transport=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import httpx

#: Bitrix24's request-rate bucket drains two requests a second (standard plans); waiting one
#: second frees room for the retried request (bitrix24.md §2.1).
QUERY_LIMIT_RETRY_SECONDS = 1.0
#: The resource limit counts execution time in one-minute baskets over ten minutes; one basket
#: expiring is the soonest a blocked method can run again (bitrix24.md §2.2).
OPERATION_LIMIT_RETRY_SECONDS = 60.0

#: Errors that say "not now" rather than "never" (rate, resource and overload limits).
_TRANSIENT_CODES = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "OVERLOAD_LIMIT"}


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


def error_from(response: httpx.Response, body: Any) -> BitrixError | None:
    """The error an answer carries, or ``None`` for a success envelope."""
    status = response.status_code
    if isinstance(body, Mapping) and "error" in body:
        code = str(body["error"])
        description = str(body.get("error_description", ""))
        transient = code in _TRANSIENT_CODES or status >= 500
        retry_after = _retry_after_header(response)
        if retry_after is None and code == "QUERY_LIMIT_EXCEEDED":
            retry_after = QUERY_LIMIT_RETRY_SECONDS
        if retry_after is None and code == "OPERATION_TIME_LIMIT":
            retry_after = OPERATION_LIMIT_RETRY_SECONDS
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


class BitrixClient:
    """Calls REST methods through one inbound webhook.

    ``transport`` replaces httpx's network transport (tests pass ``httpx.MockTransport``);
    ``timeout`` is generous on reads because a portal may take up to 60 s per request.
    """

    def __init__(
        self,
        webhook_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        user_agent: str = "cabinet-bitrix/0.1",
    ) -> None:
        if not webhook_url.startswith(("https://", "http://")):
            raise ValueError("the Bitrix24 webhook URL must start with https://")
        self.webhook_url = webhook_url.rstrip("/") + "/"
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": user_agent},
        )

    def call_full(self, method: str, params: Mapping[str, Any] | None = None) -> BitrixResponse:
        """Call ``method`` with JSON ``params``; the whole success envelope, or
        :class:`BitrixError` (transient for timeouts, network errors, limits and 5xx)."""
        try:
            response = self._http.post(f"{self.webhook_url}{method}.json", json=dict(params or {}))
        except httpx.TimeoutException as exc:
            raise BitrixError("TIMEOUT", str(exc) or type(exc).__name__, transient=True) from exc
        except httpx.TransportError as exc:
            raise BitrixError("NETWORK", str(exc) or type(exc).__name__, transient=True) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        error = error_from(response, body)
        if error is not None:
            raise error
        assert isinstance(body, Mapping)  # error_from() returned None, so it is an envelope
        return BitrixResponse(
            result=body["result"],
            total=body.get("total"),
            next=body.get("next"),
            time=body.get("time") or {},
        )

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call ``method`` and return its ``result`` (see :meth:`call_full`)."""
        return self.call_full(method, params).result

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> BitrixClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
