"""Where a change came from: the address and browser of the request being served.

The web shell sets it once per request (:func:`acting_from`); every audit entry recorded while
that request runs carries it, so the audit log answers "from where" without each service
passing it along. The CLI and the worker set nothing: their entries have no address.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import attrs

__all__ = ["RequestOrigin", "acting_from", "current_origin"]

#: Column sizes in ``audit_log``; longer values are cut, never refused (a browser decides them).
IP_LENGTH = 45
USER_AGENT_LENGTH = 300


def _ip(value: str | None) -> str | None:
    return value[:IP_LENGTH] if value else None


def _user_agent(value: str | None) -> str | None:
    return value[:USER_AGENT_LENGTH] if value else None


@attrs.frozen(kw_only=True)
class RequestOrigin:
    """The client address (IPv4 or IPv6) and the ``User-Agent`` of one request."""

    ip: str | None = attrs.field(default=None, converter=_ip)
    user_agent: str | None = attrs.field(default=None, converter=_user_agent)


_current: ContextVar[RequestOrigin | None] = ContextVar("cabinet_request_origin", default=None)


def current_origin() -> RequestOrigin | None:
    """The origin of the request being served, or ``None`` outside a request."""
    return _current.get()


@contextmanager
def acting_from(origin: RequestOrigin) -> Iterator[None]:
    """Run the block as serving a request from ``origin`` (the context is copied into worker
    threads, so a service run in the thread pool sees it too)."""
    token = _current.set(origin)
    try:
        yield
    finally:
        _current.reset(token)
