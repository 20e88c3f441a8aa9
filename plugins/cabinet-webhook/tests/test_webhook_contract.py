"""The webhook backend passes the CRM backend contract, against a real loopback receiver."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.testing import CrmBackendContract
from cabinet_webhook import WebhookBackend, WebhookSettings
from webhook_support import SECRET, Receiver


@contextmanager
def answering(receiver: Receiver, status: int) -> Iterator[None]:
    """Every call in the block gets ``status``."""
    receiver.script = [(status, {})] * 1000
    try:
        yield
    finally:
        receiver.script = []


class TestWebhookBackend(CrmBackendContract):
    @pytest.fixture
    def receiver(self) -> Iterator[Receiver]:
        with Receiver().running() as running:
            yield running

    @pytest.fixture
    def backend(self, cabinet: Cabinet, receiver: Receiver) -> Iterator[WebhookBackend]:
        made = WebhookBackend(WebhookSettings(url=receiver.url, secret=SECRET, timeout=2))
        try:
            yield made
        finally:
            made.close()

    @pytest.fixture
    def crm_state(self, receiver: Receiver) -> Callable[[], object]:
        # A receiver keeps one event per Webhook-Id (its idempotency key): what it holds is
        # the body of each id it accepted.
        def state() -> dict[str, object]:
            return {
                call.headers["webhook-id"]: json.loads(call.body)
                for call in receiver.calls
                if 200 <= call.status < 300
            }

        return state

    @pytest.fixture
    def outage(self, receiver: Receiver) -> Callable[[], AbstractContextManager[object]]:
        return lambda: answering(receiver, 503)

    @pytest.fixture
    def refusal(self, receiver: Receiver) -> Callable[[], AbstractContextManager[object]]:
        return lambda: answering(receiver, 422)
