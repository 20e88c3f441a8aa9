"""KSeF's request-rate limits (ksef-api.md §8): sliding windows of 1 s, 60 s and 60 min, each
endpoint group with its own counters per (context, client IP); the authentication endpoints
have one per-IP limit. A request over any window is refused with 429 and ``Retry-After`` =
the seconds until the oldest counted request leaves that window.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque

import attrs

__all__ = ["DEFAULT_LIMITS", "Limit", "RateLimiter"]


@attrs.frozen
class Limit:
    """Requests allowed in the last second, minute and hour."""

    per_second: int
    per_minute: int
    per_hour: int

    def windows(self) -> tuple[tuple[float, int, str], ...]:
        """``(seconds, allowed, name)`` of each window."""
        return (
            (1.0, self.per_second, "sekundę"),
            (60.0, self.per_minute, "minutę"),
            (3600.0, self.per_hour, "godzinę"),
        )


#: Groups of the OpenAPI ``x-rate-limits`` (TEST = PRD since 2.5.0).
DEFAULT_LIMITS: dict[str, Limit] = {
    "invoiceMetadata": Limit(8, 16, 20),
    "invoiceExport": Limit(8, 16, 20),
    "invoiceExportStatus": Limit(10, 60, 600),
    "invoiceDownload": Limit(8, 16, 64),
    "onlineSession": Limit(10, 30, 120),
    "invoiceSend": Limit(10, 30, 180),
    "invoiceStatus": Limit(30, 120, 1200),
    "sessionList": Limit(5, 10, 60),
    "sessionInvoiceList": Limit(10, 20, 200),
    "sessionMisc": Limit(10, 120, 1200),
    "other": Limit(10, 30, 120),
    # The auth flow and the public keys: 60 requests a second per IP, no other window.
    "auth": Limit(60, 60 * 60, 60 * 3600),
}


class RateLimiter:
    """Timestamps of the counted requests per ``(group, context, ip)``."""

    def __init__(self, limits: dict[str, Limit] | None = None) -> None:
        self.limits: dict[str, Limit] = dict(limits or DEFAULT_LIMITS)
        self.enabled = True
        self._hits: dict[tuple[str, str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget every counted request and restore the default limits."""
        with self._lock:
            self._hits.clear()
            self.limits = dict(DEFAULT_LIMITS)

    def check(self, group: str, context: str, ip: str, now: float) -> tuple[int, str] | None:
        """Count one request at ``now``; ``None`` when allowed, else ``(retry_after, detail)``
        (and nothing counted)."""
        if not self.enabled:
            return None
        limit = self.limits.get(group, self.limits["other"])
        with self._lock:
            hits = self._hits[(group, context, ip)]
            while hits and hits[0] <= now - 3600.0:
                hits.popleft()
            for seconds, allowed, name in limit.windows():
                inside = [t for t in hits if t > now - seconds]
                if len(inside) >= allowed:
                    # The request fits once enough old ones have left the window.
                    oldest = inside[len(inside) - allowed]
                    retry = max(1, math.ceil(oldest + seconds - now))
                    return retry, (
                        f"Przekroczono limit {allowed} żądań na {name}. "
                        f"Spróbuj ponownie po {retry} sekundach."
                    )
            hits.append(now)
            return None
