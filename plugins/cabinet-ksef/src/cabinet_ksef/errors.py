"""KSeF errors: the problem-details bodies (``X-Error-Format: problem-details``) as exceptions.

KSeF reports a failure in one of two ways: synchronously, as an HTTP error (400 with a list of
numbered errors, 401/403/410 problems, 429 with ``Retry-After``), or asynchronously, as a 4xx
status code of an operation polled later (an authentication, an invoice). Both become a
``KsefError`` carrying the KSeF code, so callers match on ``code``, never on the Polish text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class KsefError(Exception):
    """A failure KSeF reported (or the lack of an answer, for ``KsefUnavailable``).

    ``status`` is the HTTP status of the response that carried the error (200 when an operation
    polled later reported it); ``code`` the KSeF code (an exception code such as 21405 for a
    400, or an operation's status code such as 450); ``retry_after`` the seconds KSeF asked the
    caller to wait, when it said.
    """

    def __init__(
        self,
        status: int,
        description: str,
        *,
        code: int | None = None,
        details: tuple[str, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.description = description
        self.details = details
        self.retry_after = retry_after
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"KSeF {self.status}"
        if self.code is not None:
            head += f" [{self.code}]"
        text = f"{head}: {self.description}"
        if self.details:
            text += " (" + "; ".join(self.details) + ")"
        return text


class KsefUnavailable(KsefError):
    """KSeF did not answer usefully: a 5xx, a connection error or a timeout. Retry later."""


class KsefRateLimited(KsefError):
    """429: a rate limit was hit. ``retry_after`` holds the seconds KSeF asked to wait."""


class KsefAuthError(KsefError):
    """Authentication failed or is not allowed: 401, 403, or a failed authentication status."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_from_response(response: httpx.Response) -> KsefError:
    """The exception for an HTTP error response, from whichever error shape KSeF sent."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    body = _json_or_none(response)
    code, description, details = _read_body(body, response)
    kind: type[KsefError]
    if status == 429:
        kind = KsefRateLimited
    elif status >= 500:
        kind = KsefUnavailable
    elif status in (401, 403):
        kind = KsefAuthError
    else:
        kind = KsefError
    return kind(status, description, code=code, details=details, retry_after=retry_after)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _read_body(body: Any, response: httpx.Response) -> tuple[int | None, str, tuple[str, ...]]:
    if isinstance(body, dict):
        # BadRequestProblemDetails: one entry per error; the first is the one to act on, the
        # others travel in the details.
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            details = list(_strings(first.get("details")))
            for other in errors[1:]:
                if isinstance(other, dict):
                    details.append(f"{other.get('code')}: {other.get('description')}")
            return _int(first.get("code")), str(first.get("description") or ""), tuple(details)
        # The legacy ExceptionResponse (sent when the header is missing, or on some 500s).
        exception = body.get("exception")
        if isinstance(exception, dict):
            entries = exception.get("exceptionDetailList")
            if isinstance(entries, list) and entries and isinstance(entries[0], dict):
                first = entries[0]
                return (
                    _int(first.get("exceptionCode")),
                    str(first.get("exceptionDescription") or ""),
                    _strings(first.get("details")),
                )
        # The legacy 429 envelope: {"status": {"code", "description", "details"}}.
        legacy = body.get("status")
        if isinstance(legacy, dict):
            return (
                _int(legacy.get("code")),
                str(legacy.get("description") or ""),
                _strings(legacy.get("details")),
            )
        # Any other problem+json (401, 403, 410, 429): title and detail.
        title = str(body.get("title") or response.reason_phrase)
        detail = body.get("detail")
        extra = [str(detail)] if detail else []
        reason = body.get("reasonCode")
        if reason:
            extra.append(f"reasonCode: {reason}")
        return None, title, tuple(extra)
    text = response.text.strip()
    return None, response.reason_phrase or "HTTP error", (text[:500],) if text else ()


def _strings(value: Any) -> tuple[str, ...]:
    """``details`` as text: the spec says a list of strings; anything else is kept readable."""
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return (str(value),)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
