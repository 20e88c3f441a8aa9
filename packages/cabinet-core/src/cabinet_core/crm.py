"""The CRM backend seam: the worker hands outbox messages to the active backends.

A backend is idempotent (a retried message must not create a second CRM item): it keeps the
external id it got, or looks the item up by the cabinet's id before creating it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage


class DeliveryError(Exception):
    """A delivery failed; ``retry_after`` (seconds) overrides the worker's backoff when given.

    ``permanent=True`` means retrying cannot help (the message is marked failed at once).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


@runtime_checkable
class CrmBackend(Protocol):
    """What a CRM backend provides to the core."""

    name: str

    def deliver(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        """Push one change to the CRM; raise :class:`DeliveryError` to retry later."""
        ...
