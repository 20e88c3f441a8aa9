"""What one outbox message becomes on the wire, and what the receiver's answer means.

The body of every call (``Content-Type: application/json``)::

    {"id": 42, "topic": "document.status_changed", "occurred_at": "2026-12-07T01:30:00+00:00",
     "origin": null, "data": {...}}

``data`` is the topic's payload exactly as the core encoded it (see
``docs/plugins/crm-backends.md`` for each topic's shape); ``origin`` names the backend a change
came from (``null`` for a change made in the cabinet).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from cabinet_core.crm import DeliveryError
from cabinet_core.sync import Topic

if TYPE_CHECKING:
    import httpx
    from cabinet_core.entities import OutboxMessage

#: Statuses worth retrying: the receiver is busy, down or slow, not refusing the call.
RETRYABLE = frozenset({408, 425, 429})


def envelope(message: OutboxMessage) -> bytes | None:
    """The JSON body announcing ``message``; ``None`` for a topic this backend does not send (a
    topic newer than this plugin, or a ``mail.*`` topic, which is the mailer's)."""
    try:
        topic = Topic(message.topic)
    except ValueError:
        return None
    if topic.is_mail:
        return None
    created = message.created_at
    document = {
        "id": message.id,
        "topic": topic.value,
        "occurred_at": created.isoformat() if created is not None else None,
        # The CRM backend a change came from (never this one: the outbox does not echo), or
        # null for a change made in the cabinet.
        "origin": message.origin,
        "data": dict(message.payload),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); ``None`` when
    absent or unreadable, so the worker's own backoff applies."""
    if not value:
        return None
    value = value.strip()
    # RFC 9110 §10.2.3: delay-seconds is a run of digits; anything else must be an HTTP date.
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def outcome(response: httpx.Response, now: datetime) -> DeliveryError | None:
    """``None`` for a 2xx answer; otherwise the error the worker acts on: a retry for 408, 425,
    429 and 5xx (after ``Retry-After`` when given), a permanent failure for any other status
    (the receiver refuses the call; retrying the same body cannot help)."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    # Only the host: a hook URL's path is often its secret (Make, Zapier), and errors are shown.
    where = f"webhook: {response.request.url.host} answered {status}"
    if status in RETRYABLE or status >= 500:
        wait = retry_after(response.headers.get("retry-after"), now)
        return DeliveryError(where, retry_after=wait)
    return DeliveryError(where, permanent=True)
