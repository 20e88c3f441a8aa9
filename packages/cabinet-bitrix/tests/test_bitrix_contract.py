"""The Bitrix24 backend passes the kit's CRM backend contract, against the emulator: a
redelivered message leaves the portal as it was, a portal that is down is a retryable
DeliveryError, a moved portal a permanent one, a portal refusing for its rate limit a
deferred one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.client import RetryPolicy
from cabinet_core.app import Cabinet
from cabinet_core.testing import CrmBackendContract
from emulated import emulated_client

#: Fields the portal rewrites on every write: an update that changes nothing else still
#: moves them, and that is not a second item.
VOLATILE = {"updatedTime", "DATE_MODIFY", "movedTime", "lastActivityTime", "updatedBy"}


def _content(record: dict[str, Any], *, skip: frozenset[str] = frozenset()) -> tuple[Any, ...]:
    return tuple(
        sorted(
            (key, repr(value))
            for key, value in record.items()
            if key not in VOLATILE and key not in skip
        )
    )


def snapshot(emulator: Emulator) -> dict[str, object]:
    """What the portal holds, comparable across deliveries."""
    portal = emulator.portal
    return {
        "items": {
            type_id: sorted(_content(item) for item in items.values())
            for type_id, items in portal.items.items()
        },
        # Product rows are set as a whole on each write: new row ids, the same rows.
        "rows": {
            key: [_content(row, skip=frozenset({"id"})) for row in rows]
            for key, rows in portal.rows.items()
        },
        "requisites": sorted(_content(r) for r in portal.requisites.values()),
        "products": sorted(_content(p) for p in portal.products.values()),
        "messages": len(portal.messages),
        "timeline": len(portal.timeline),
        "posts": len(portal.posts),
    }


@contextmanager
def faulty(emulator: Emulator, kind: str) -> Iterator[None]:
    emulator.inject(kind)
    try:
        yield
    finally:
        emulator.clear_faults()


class TestBitrixBackend(CrmBackendContract):
    """``cabinet`` is this package's conftest one (migrated, with the Bitrix24 plugin)."""

    @pytest.fixture
    def emulator(self) -> Emulator:
        return Emulator(EmulatorConfig(), clock=VirtualClock())

    @pytest.fixture
    def backend(self, cabinet: Cabinet, emulator: Emulator) -> BitrixBackend:
        retry = RetryPolicy(attempts=2, base=0.5, factor=2.0, cap=1.0)
        client = emulated_client(emulator, emulator.clock, retry=retry)
        return BitrixBackend(BitrixSettings(webhook_url=emulator.webhook_url), client=client)

    @pytest.fixture
    def crm_state(self, emulator: Emulator) -> Callable[[], object]:
        return lambda: snapshot(emulator)

    @pytest.fixture
    def outage(self, emulator: Emulator) -> Callable[[], AbstractContextManager[object]]:
        return lambda: faulty(emulator, "down")

    @pytest.fixture
    def refusal(self, emulator: Emulator) -> Callable[[], AbstractContextManager[object]]:
        return lambda: faulty(emulator, "moved")

    @pytest.fixture
    def limit(self, emulator: Emulator) -> Callable[[], AbstractContextManager[object]]:
        # Another integration on the same portal keeps its request bucket full.
        return lambda: faulty(emulator, "query_limit")
