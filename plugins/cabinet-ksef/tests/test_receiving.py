"""The receiving pass against a scripted KSeF: incremental by permanent-storage date, each
invoice imported once, within the per-client limits, a 429 waited out."""

from __future__ import annotations

import datetime as dt

from cabinet_ksef.api import TokenCredentials
from cabinet_ksef.connections import Connections
from cabinet_ksef.receiving import MAX_DOWNLOADS, Receiver
from cabinet_ksef.sending import KsefSender
from cabinet_ksef.settings import KsefSettings
from plugin_fakes import NOW, SELLER_NIP, FakeKsef, FakePort, purchase


def make(**config: str) -> tuple[Receiver, FakePort, FakeKsef]:
    port, ksef = FakePort(), FakeKsef()
    port.add_client(1)
    settings = KsefSettings.from_config(
        {"base_url": "http://ksef.test/v2", **config}, secret_key="s"
    )
    sender = KsefSender(port, settings, Connections(ksef.client, port, port.now))
    sender.vault.keep(
        1, TokenCredentials(context_nip=SELLER_NIP, token="t"), now=NOW, valid_until=None
    )
    return Receiver(sender), port, ksef


def test_each_purchase_is_imported_once_and_the_mark_moves_on() -> None:
    receiver, port, ksef = make()
    ksef.purchases = [purchase(n, NOW - dt.timedelta(hours=10 - n)) for n in range(1, 4)]
    first = receiver.receive(1)
    assert (first.imported, first.skipped, first.complete) == (3, 0, True)
    meta = port.purchases[(1, ksef.purchases[0][0].ksef_number)][1]
    assert meta is not None and meta["vat"] == "23.00" and meta["seller_nip"] == "7010002137"
    state = receiver.state(1)
    assert state.high_water == NOW - dt.timedelta(hours=7)
    assert state.last_sync == NOW and state.imported_total == 3

    # Nothing new: nothing downloaded; one new: only it.
    port.clock = NOW + dt.timedelta(hours=1)
    assert receiver.receive(1).imported == 0 and ksef.downloads == 3
    ksef.purchases.append(purchase(4, NOW + dt.timedelta(minutes=30)))
    port.clock = NOW + dt.timedelta(hours=2)
    assert receiver.receive(1).imported == 1 and ksef.downloads == 4
    assert len(port.purchases) == 4


def test_the_first_pass_reaches_back_the_backfill_in_windows_of_three_months() -> None:
    receiver, _port, ksef = make(backfill_days="200", receive_pages="10")
    ksef.purchases = [
        purchase(1, NOW - dt.timedelta(days=180)),
        purchase(2, NOW - dt.timedelta(days=5)),
    ]
    result = receiver.receive(1)
    assert result.imported == 2 and result.complete
    assert ksef.metadata_calls == 3  # 200 days: three windows of at most 90


def test_a_pass_spends_a_bounded_part_of_the_clients_budget() -> None:
    receiver, port, ksef = make(receive_pages="2")
    ksef.purchases = [
        purchase(n, NOW - dt.timedelta(hours=5) + dt.timedelta(seconds=n))
        for n in range(1, MAX_DOWNLOADS + 11)
    ]
    first = receiver.receive(1)
    assert first.imported == MAX_DOWNLOADS and not first.complete
    assert ksef.metadata_calls == 1
    # The rest come with the next pass, from the mark, without downloading the first ones again.
    port.clock = NOW + dt.timedelta(hours=1)
    second = receiver.receive(1)
    assert second.imported == 10 and ksef.downloads == MAX_DOWNLOADS + 10


def test_due_only_after_the_interval_and_a_429_blocks_until_retry_after() -> None:
    receiver, port, ksef = make(receive_minutes="30")
    assert receiver.due(1, NOW)
    receiver.receive(1)
    assert not receiver.due(1, NOW + dt.timedelta(minutes=29))
    assert receiver.due(1, NOW + dt.timedelta(minutes=30))

    ksef.rate_limited = 2680.0
    port.clock = NOW + dt.timedelta(hours=1)
    limited = receiver.receive(1)
    assert "429" in limited.error
    assert not receiver.due(1, port.clock + dt.timedelta(minutes=40))
    assert receiver.due(1, port.clock + dt.timedelta(seconds=2681))


def test_run_passes_over_due_clients_with_credentials_only() -> None:
    receiver, port, ksef = make()
    port.add_client(2, nip="7010002137")  # KSeF on, no credentials yet
    ksef.purchases = [purchase(1, NOW - dt.timedelta(hours=1))]
    results = receiver.run()
    assert [r.client_id for r in results] == [1]
    assert receiver.run() == []  # not due again yet


def test_a_file_the_cabinet_refuses_is_noted_and_the_rest_imported() -> None:
    receiver, port, ksef = make()
    ksef.purchases = [purchase(n, NOW - dt.timedelta(hours=3 - n)) for n in (1, 2)]
    real = port.import_purchase

    def refuse_first(client_id, xml, *, ksef_number, metadata=None):  # type: ignore[no-untyped-def]
        from cabinet_core.errors import FieldError, ValidationError

        if ksef_number == ksef.purchases[0][0].ksef_number:
            raise ValidationError([FieldError(field="seller.nip", code="nip", message="bad")])
        return real(client_id, xml, ksef_number=ksef_number, metadata=metadata)

    port.import_purchase = refuse_first  # type: ignore[method-assign]
    result = receiver.receive(1)
    assert result.imported == 1 and result.failed == (
        f"{ksef.purchases[0][0].ksef_number}: seller.nip",
    )
    assert receiver.state(1).failed == result.failed
