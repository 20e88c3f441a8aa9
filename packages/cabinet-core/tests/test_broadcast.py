"""The broadcast seam: in-process queues, and PostgreSQL LISTEN/NOTIFY between two
connections (as between two web processes)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from cabinet_core.broadcast import (
    QUEUE_SIZE,
    LocalBroadcast,
    PostgresBroadcast,
    broadcast_for,
    libpq_conninfo,
)


def test_the_database_url_chooses_the_implementation(tmp_path: object) -> None:
    assert isinstance(broadcast_for("sqlite:///x.sqlite3"), LocalBroadcast)
    chosen = broadcast_for("postgresql+psycopg://postgres@127.0.0.1:5432/cabinet")
    assert isinstance(chosen, PostgresBroadcast)
    assert chosen.conninfo == "postgresql://postgres@127.0.0.1:5432/cabinet"
    assert libpq_conninfo("postgresql+psycopg://u:p%40ss@h/db") == "postgresql://u:p%40ss@h/db"


def test_local_events_reach_subscribers_of_their_channel_from_any_thread() -> None:
    hub = LocalBroadcast()

    async def scenario() -> tuple[object, object, object]:
        with hub.subscribe("a") as first, hub.subscribe("a") as second, hub.subscribe("b") as other:
            publisher = threading.Thread(target=hub.publish, args=("a", {"n": 1}))
            publisher.start()
            publisher.join()
            return await first.get(5), await second.get(5), await other.get(0.05)

    assert asyncio.run(scenario()) == ({"n": 1}, {"n": 1}, None)
    assert hub.subscriber_count("a") == 0


def test_a_closed_subscription_gets_nothing_more() -> None:
    hub = LocalBroadcast()

    async def scenario() -> object:
        subscription = hub.subscribe("a")
        subscription.close()
        hub.publish("a", {"n": 1})
        return await subscription.get(0.05)

    assert asyncio.run(scenario()) is None


def test_a_slow_reader_keeps_the_newest_events() -> None:
    hub = LocalBroadcast()

    async def scenario() -> list[object]:
        with hub.subscribe("a") as subscription:
            for number in range(QUEUE_SIZE + 5):
                hub.publish("a", {"n": number})
            await asyncio.sleep(0)
            received = []
            while (event := await subscription.get(0.05)) is not None:
                received.append(event)
            return received

    received = asyncio.run(scenario())
    assert len(received) == QUEUE_SIZE
    assert received[-1] == {"n": QUEUE_SIZE + 4}
    assert received[0] == {"n": 5}


def test_events_iterate_in_order() -> None:
    hub = LocalBroadcast()

    async def scenario() -> list[object]:
        with hub.subscribe("a") as subscription:
            for number in range(3):
                hub.publish("a", {"n": number})
            events = []
            async for event in subscription:
                events.append(event)
                if len(events) == 3:
                    return events
        return events

    assert asyncio.run(scenario()) == [{"n": 0}, {"n": 1}, {"n": 2}]


@pytest.mark.postgres
def test_a_notify_on_one_connection_reaches_a_listener_on_another(pg_url: str) -> None:
    # Two broadcasts, two connections to one database: as two web processes would be.
    listener_side = PostgresBroadcast(pg_url)
    publisher_side = PostgresBroadcast(pg_url)

    async def scenario() -> tuple[object, object]:
        with (
            listener_side.subscribe("chat:client:7") as wanted,
            listener_side.subscribe("chat:client:8") as unrelated,
        ):
            await listener_side.ready()
            await asyncio.to_thread(
                publisher_side.publish, "chat:client:7", {"type": "message", "id": 41}
            )
            return await wanted.get(10), await unrelated.get(0.3)

    try:
        assert asyncio.run(scenario()) == ({"type": "message", "id": 41}, None)
    finally:
        listener_side.close()
        publisher_side.close()


@pytest.mark.postgres
def test_a_malformed_notification_is_ignored(pg_url: str) -> None:
    import psycopg

    broadcast = PostgresBroadcast(pg_url)

    async def scenario() -> object:
        with broadcast.subscribe("c") as subscription:
            await broadcast.ready()
            with psycopg.connect(broadcast.conninfo, autocommit=True) as connection:
                connection.execute("NOTIFY cabinet_broadcast, 'not json'")
            await asyncio.to_thread(broadcast.publish, "c", {"ok": True})
            return await subscription.get(10)

    try:
        assert asyncio.run(scenario()) == {"ok": True}
    finally:
        broadcast.close()
