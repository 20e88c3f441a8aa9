"""The ``webhook`` CRM backend: each change POSTed, signed, to one URL.

One call per outbox message (what n8n, Make and Zapier triggers expect: one event per request).
A claimed batch is spread over a small pool of kept-alive connections, so throughput is bound
by the receiver, not by round trips one after another.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from cabinet_core.crm import DeliveryError

from cabinet_webhook import signature
from cabinet_webhook.delivery import envelope, outcome
from cabinet_webhook.inbound import WebhookInbound

if TYPE_CHECKING:
    from cabinet_core.entities import OutboxMessage
    from cabinet_core.sync import SyncPort

    from cabinet_webhook.settings import WebhookSettings

USER_AGENT = "cabinet-webhook/0.1"
#: Connecting should be quick on any network; only the answer may take the full timeout.
CONNECT_TIMEOUT = 5.0
#: A call is written as headers then body: without TCP_NODELAY the small body can wait for the
#: receiver's delayed ACK of the headers (Nagle's algorithm) on every kept-alive connection.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class WebhookBackend:
    """Delivers every topic to :attr:`WebhookSettings.url` and receives status and payment
    changes at ``/hooks/webhook``. ``transport`` replaces the network (tests, embedders)."""

    name = "webhook"

    def __init__(
        self, settings: WebhookSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._key = settings.key
        # Errors name the host only: a hook URL's path is often its secret.
        self._host = urlsplit(settings.url).hostname or "the receiver"
        connections = settings.connections
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout, connect=min(CONNECT_TIMEOUT, settings.timeout)),
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
            follow_redirects=False,
            transport=transport or httpx.HTTPTransport(limits=limits, socket_options=NO_DELAY),
        )
        self._pool = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="webhook")
        self._inbound = WebhookInbound(self._key)

    @property
    def inbound(self) -> WebhookInbound:
        """The handler of ``POST /hooks/webhook`` (signed status and payment changes)."""
        return self._inbound

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        """POST ``message``; :class:`DeliveryError` when the receiver did not take it."""
        error = self._post(port, message)
        if error is not None:
            raise error

    def deliver_many(
        self, port: SyncPort, messages: Sequence[OutboxMessage]
    ) -> Mapping[int, Exception | None]:
        """POST a claimed batch over the connection pool; one outcome per message id."""
        futures = {
            int(message.id or 0): self._pool.submit(self._post, port, message)
            for message in messages
        }
        return {message_id: future.result() for message_id, future in futures.items()}

    def _post(self, port: SyncPort, message: OutboxMessage) -> DeliveryError | None:
        body = envelope(message)
        if body is None:
            return None
        now = port.now()
        timestamp = int(now.timestamp())
        call = signature.headers(self._key, str(message.id), timestamp, body)
        try:
            response = self._client.post(self.settings.url, content=body, headers=call)
        except httpx.TimeoutException:
            return DeliveryError(f"webhook: {self._host} did not answer in time")
        except httpx.HTTPError as exc:
            return DeliveryError(
                f"webhook: {self._host} could not be reached ({type(exc).__name__})"
            )
        return outcome(response, now)

    def close(self) -> None:
        """Stop the delivery threads and close the connections (the cabinet calls this)."""
        self._pool.shutdown(wait=True)
        self._client.close()
