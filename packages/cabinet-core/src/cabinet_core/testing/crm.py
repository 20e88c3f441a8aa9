"""``CrmBackendContract``: what every CRM backend must do, as tests a backend author inherits.

Subclass it in a test module and provide two fixtures (as methods of the subclass or in a
conftest)::

    class TestMyBackend(CrmBackendContract):
        @pytest.fixture
        def backend(self, cabinet):          # the backend under test, aimed at a test CRM
            ...

        @pytest.fixture
        def crm_state(self, my_test_crm):    # what the CRM holds now, comparable with ==
            return lambda: my_test_crm.snapshot()

Optionally override ``outage``, ``refusal`` and ``limit`` (as methods of the subclass): each
returns a callable giving a context manager during which the CRM is down (a retryable failure),
refuses every call (a permanent one) or keeps refusing for a rate or resource limit (a
deferred one: waited out without spending attempts). Left as they are, those tests are
skipped, saying why.

The messages delivered are :func:`~cabinet_core.testing.samples.sample_messages`, one per topic,
about entities stored in the kit's ``cabinet``, delivered through ``cabinet.sync_port(name)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import pytest

from cabinet_core.crm import CrmBackend, DeliveryError
from cabinet_core.sync import MAIL_SUBSCRIBER, BatchDelivery, SyncPort, Topic
from cabinet_core.testing.samples import message_for, sample_messages

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage

__all__ = ["CrmBackendContract", "Scenario"]

#: A fixture value that makes the CRM misbehave while its context is open.
Scenario = Callable[[], AbstractContextManager[object]]
#: A topic no core has (yet): a backend must let it pass, a newer core may add topics.
FUTURE_TOPIC = "kit.future_topic"
FUTURE_ENTITY = "future_entity"


def _crm_topics(messages: dict[Topic, OutboxMessage]) -> list[OutboxMessage]:
    return [message for topic, message in messages.items() if topic.addressee is None]


class CrmBackendContract:
    """The contract suite (see the module docstring). Every test takes the ``backend`` and
    ``crm_state`` fixtures the subclass provides."""

    @pytest.fixture
    def port(self, cabinet: Cabinet, backend: CrmBackend) -> SyncPort:
        """The backend's port on the kit's cabinet."""
        return cabinet.sync_port(backend.name)

    @pytest.fixture
    def messages(self, cabinet: Cabinet) -> dict[Topic, OutboxMessage]:
        """One message per topic, about entities stored in ``cabinet``."""
        return sample_messages(cabinet)

    @pytest.fixture
    def outage(self) -> Scenario | None:
        """Override: the CRM is unreachable or overloaded while the context is open."""
        return None

    @pytest.fixture
    def refusal(self) -> Scenario | None:
        """Override: the CRM refuses every call for good while the context is open."""
        return None

    @pytest.fixture
    def limit(self) -> Scenario | None:
        """Override: the CRM refuses every call for a rate or resource limit while the context
        is open (it says "not now", having done nothing)."""
        return None

    def test_the_backend_is_named_and_meets_the_protocol(self, backend: CrmBackend) -> None:
        assert isinstance(backend, CrmBackend)
        assert isinstance(backend.name, str) and backend.name.strip()
        assert backend.name != MAIL_SUBSCRIBER

    def test_every_topics_payload_is_accepted(
        self, backend: CrmBackend, port: SyncPort, messages: dict[Topic, OutboxMessage]
    ) -> None:
        for message in messages.values():
            backend.deliver(port, message)

    def test_redelivery_is_idempotent(
        self,
        backend: CrmBackend,
        port: SyncPort,
        messages: dict[Topic, OutboxMessage],
        crm_state: Callable[[], object],
    ) -> None:
        for message in _crm_topics(messages):
            backend.deliver(port, message)
            once = crm_state()
            backend.deliver(port, message)
            assert crm_state() == once, f"redelivering {message.topic} changed the CRM"

    def test_unknown_topics_are_ignored(
        self, backend: CrmBackend, port: SyncPort, crm_state: Callable[[], object]
    ) -> None:
        before = crm_state()
        backend.deliver(port, message_for(FUTURE_TOPIC, FUTURE_ENTITY, 1, {"anything": [1, 2]}))
        assert crm_state() == before

    def test_an_outage_is_a_retryable_delivery_error(
        self,
        backend: CrmBackend,
        port: SyncPort,
        messages: dict[Topic, OutboxMessage],
        crm_state: Callable[[], object],
        outage: Scenario | None,
    ) -> None:
        if outage is None:
            pytest.skip("the subclass provides no `outage` scenario")
        message = messages[Topic.CLIENT_CREATED]
        with outage(), pytest.raises(DeliveryError) as failed:
            backend.deliver(port, message)
        assert not failed.value.permanent
        assert failed.value.retry_after is None or failed.value.retry_after >= 0
        backend.deliver(port, message)  # the retry after the outage succeeds
        once = crm_state()
        backend.deliver(port, message)
        assert crm_state() == once

    def test_a_limit_is_a_deferred_delivery_error(
        self,
        backend: CrmBackend,
        port: SyncPort,
        messages: dict[Topic, OutboxMessage],
        crm_state: Callable[[], object],
        limit: Scenario | None,
    ) -> None:
        if limit is None:
            pytest.skip("the subclass provides no `limit` scenario")
        message = messages[Topic.CLIENT_CREATED]
        with limit(), pytest.raises(DeliveryError) as failed:
            backend.deliver(port, message)
        # Waited out by the worker without spending an attempt: it must say how long.
        assert failed.value.deferred and not failed.value.permanent
        assert failed.value.retry_after is not None and failed.value.retry_after > 0
        backend.deliver(port, message)  # once the limit is over, the delivery lands once
        once = crm_state()
        backend.deliver(port, message)
        assert crm_state() == once

    def test_a_refusal_is_a_permanent_delivery_error(
        self,
        backend: CrmBackend,
        port: SyncPort,
        messages: dict[Topic, OutboxMessage],
        refusal: Scenario | None,
    ) -> None:
        if refusal is None:
            pytest.skip("the subclass provides no `refusal` scenario")
        with refusal(), pytest.raises(DeliveryError) as failed:
            backend.deliver(port, messages[Topic.DOCUMENT_CREATED])
        assert failed.value.permanent

    def test_deliver_many_gives_one_outcome_per_id(
        self, backend: CrmBackend, port: SyncPort, messages: dict[Topic, OutboxMessage]
    ) -> None:
        if not isinstance(backend, BatchDelivery):
            pytest.skip("the backend does not declare BatchDelivery")
        batch: Sequence[OutboxMessage] = [
            *_crm_topics(messages),
            message_for(FUTURE_TOPIC, FUTURE_ENTITY, 2, {}),
        ]
        outcomes = backend.deliver_many(port, batch)
        assert sorted(outcomes) == sorted(int(message.id or 0) for message in batch)
        for message_id, outcome in outcomes.items():
            assert outcome is None or isinstance(outcome, Exception), message_id
        assert all(outcome is None for outcome in outcomes.values()), outcomes

    def test_a_batch_during_an_outage_fails_each_message_retryably(
        self,
        backend: CrmBackend,
        port: SyncPort,
        messages: dict[Topic, OutboxMessage],
        outage: Scenario | None,
    ) -> None:
        if not isinstance(backend, BatchDelivery):
            pytest.skip("the backend does not declare BatchDelivery")
        if outage is None:
            pytest.skip("the subclass provides no `outage` scenario")
        batch = [messages[Topic.CLIENT_CREATED], messages[Topic.DOCUMENT_CREATED]]
        with outage():
            try:
                outcomes = backend.deliver_many(port, batch)
            except DeliveryError as whole:
                # Failing the whole call is allowed: the worker retries every message.
                assert not whole.permanent
                return
        assert sorted(outcomes) == sorted(int(message.id or 0) for message in batch)
        for outcome in outcomes.values():
            assert isinstance(outcome, Exception)
            if isinstance(outcome, DeliveryError):
                assert not outcome.permanent
