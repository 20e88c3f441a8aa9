"""The built-in CRM backend: ``null``, the embedded default when no CRM is connected."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from cabinet_core.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage
    from cabinet_core.sync import SyncPort


class NullBackend:
    """Accepts every message and only counts it, so the outbox drains without a CRM."""

    name = "null"

    def __init__(self, cabinet: Cabinet | None = None) -> None:
        self.delivered = 0
        self._lock = threading.Lock()

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        """Count the message as delivered."""
        with self._lock:
            self.delivered += 1


@hookimpl
def register_crm_backends(register: Register) -> None:
    """Register the ``null`` backend."""
    register("null", NullBackend)
