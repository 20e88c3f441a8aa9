"""Reliability of the whole delivery path (outbox → worker → BitrixBackend → portal) when the
portal misbehaves for a while: down, bursts of 503 and 500, slow with answers lost after the
work was done, expired tokens. Afterwards every document is in the CRM exactly once (counted
by the cabinet's origin id), with its rows, and no message is lost or given up on.

Everything runs on one virtual clock (the emulator's server time, the client's pacing and
backoff, and the worker's retry schedule), so an outage of ten minutes costs no real time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from backlog import SPA, BacklogRig, assert_parties_once
from cabinet_bitrix.client import RetryPolicy
from emulated import emulated_client

DOCUMENTS = 60


class LostAnswers(httpx.BaseTransport):
    """The portal does the work, then the connection drops before the answer arrives, for
    the next ``lose`` requests that create items."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lose = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose > 0 and b"crm.item.add" in request.content:
            self.lose -= 1
            response.close()
            raise httpx.ReadTimeout("connection dropped after the write", request=request)
        return response


class Rig(BacklogRig):
    """The kit's backlog rig with 60 documents, answers that can be lost after the write
    (``transport.lose``), and every delivery counted."""

    transport: LostAnswers

    def __init__(self, folder: Path, **kwargs: Any) -> None:
        super().__init__(folder, documents=DOCUMENTS, transport=LostAnswers, seed=4, **kwargs)

    def assert_exactly_once(self, *, parties: bool = True, in_sync: bool = False) -> None:
        super().assert_exactly_once(parties=parties, in_sync=in_sync)
        delivered = self.cabinet.store.list_outbox(status="delivered", limit=1000)
        assert len(delivered) == DOCUMENTS


@pytest.fixture
def rig_factory(tmp_path: Path):
    rigs: list[Rig] = []

    def make(**kwargs: Any) -> Rig:
        rig = Rig(tmp_path / str(len(rigs)), **kwargs)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def test_a_crm_down_for_ten_minutes_loses_and_duplicates_nothing(rig_factory) -> None:
    rig = rig_factory(write_seconds=0.02)
    rig.emulator.inject("down")
    rig.drain(recover_after=600, recover=rig.emulator.clear_faults)
    attempts = [m.attempts for m in rig.cabinet.store.list_outbox(status="delivered", limit=100)]
    assert min(attempts) > 1  # they were retried across the outage, not delivered before it
    rig.assert_exactly_once()


def test_bursts_of_503_and_500_are_waited_out(rig_factory) -> None:
    rig = rig_factory(write_seconds=0.02)
    rig.emulator.inject("query_limit", 40)  # another integration took the bucket
    rig.emulator.inject("internal_error", 3)
    rig.emulator.inject("html_error", 2, methods=["batch"])
    rig.drain()
    rig.assert_exactly_once()


def _slow_and_dropping(rig_factory) -> Rig:
    rig = rig_factory(write_seconds=0.5)  # 25 s of server time per batch of 50 writes
    rig.emulator.inject("slow", 4, methods=["batch"], seconds=40)
    rig.transport.lose = 3  # the portal created the items; the worker never heard
    rig.drain()
    assert rig.transport.lose == 0
    return rig


def test_a_slow_portal_that_drops_answers_after_writing_gets_no_duplicate_items(
    rig_factory,
) -> None:
    _slow_and_dropping(rig_factory).assert_exactly_once(parties=False)


def test_a_dropped_answer_does_not_duplicate_the_party_created_in_that_batch(
    rig_factory,
) -> None:
    assert_parties_once(_slow_and_dropping(rig_factory).emulator)


def test_expired_tokens_are_refreshed_and_nothing_is_sent_twice(rig_factory) -> None:
    rig = rig_factory(write_seconds=0.02, app_mode=True)
    rig.cabinet.crm_backends()  # installs the app
    rig.emulator.expire_tokens()
    rig.emulator.inject("expired_token", 4)
    rig.drain()
    rig.assert_exactly_once()
    assert rig.backend is not None
    assert rig.backend.client.auth.refreshes >= 1  # type: ignore[attr-defined]


def test_everything_at_once(rig_factory) -> None:
    rig = rig_factory(write_seconds=0.1)
    rig.emulator.inject("query_limit", 10)
    rig.emulator.inject("internal_error", 2)
    rig.emulator.inject("timeout", 2, seconds=60)
    rig.transport.lose = 2
    rig.emulator.inject("down")
    rig.drain(recover_after=300, recover=rig.emulator.clear_faults)
    rig.assert_exactly_once()


def test_another_process_spending_the_rows_budget_is_waited_out_without_spending_attempts(
    rig_factory,
) -> None:
    # Another process of the same app (same webhook) spends crm.item.productrow.set's ten
    # minutes of server time just before the worker starts: the rows of the first batches
    # are refused (OPERATION_TIME_LIMIT inside the batch) while their items go in.
    rig = rig_factory(method_seconds={"crm.item.productrow.set": 100.0})
    other = emulated_client(rig.emulator, rig.clock, retry=RetryPolicy(attempts=1))
    owner = other.call("crm.item.add", {"entityTypeId": SPA, "fields": {"title": "theirs"}})
    t0 = rig.clock.now()
    for _ in range(5):
        other.call(
            "crm.item.productrow.set",
            {"ownerType": "T40e", "ownerId": owner["item"]["id"], "productRows": []},
        )
    rig.drain()
    # Theirs plus ours, each of ours once with its rows.
    theirs = rig.emulator.portal.items[SPA].pop(int(owner["item"]["id"]))
    assert theirs["title"] == "theirs"
    rig.assert_exactly_once()
    # The rows could only go in once the block ended, ten minutes after it began.
    assert rig.clock.now() >= t0 + 600
    delivered = rig.cabinet.store.list_outbox(status="delivered", limit=1000)
    # Every wait was given back: each message spent only the attempt that went through.
    assert {m.attempts for m in delivered} == {1}
