"""The broadcast seam: news of a change reaches every web process that has a browser waiting.

A service publishes a small event on a named channel *after* its transaction commits
(``publish(channel, event)``, from any thread); a live page subscribes to a channel
(``subscribe(channel)``) and is woken by each event. Events are pokes, not the data: a
subscriber reads what changed through the service (with its access check), so an event
missed while a connection was down costs only a later read, never a wrong page.

Two implementations, chosen by the database URL (:func:`broadcast_for`):

* :class:`LocalBroadcast`: one process (SQLite, tests, ``cabinet demo``); asyncio queues fed
  thread-safely from the worker threads the services run in.
* :class:`PostgresBroadcast`: several web processes on one PostgreSQL database, through
  ``LISTEN``/``NOTIFY``. Each process keeps one listening connection (psycopg's async
  ``notifies()``) and fans the notifications out locally; a publish is one ``pg_notify``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import sqlalchemy as sa

__all__ = [
    "NOTIFY_CHANNEL",
    "Broadcast",
    "LocalBroadcast",
    "PostgresBroadcast",
    "Subscription",
    "broadcast_for",
]

log = logging.getLogger("cabinet.broadcast")

#: The one PostgreSQL channel every cabinet process listens on; the cabinet's own channel name
#: travels in the payload, so a process needs one ``LISTEN`` whatever pages are open.
NOTIFY_CHANNEL = "cabinet_broadcast"
#: Events queued for a subscriber that does not read; past this the oldest are dropped (an
#: event is only a poke, and the next one wakes the reader all the same).
QUEUE_SIZE = 100
#: Seconds between attempts to reconnect the listening connection.
RECONNECT_SECONDS = 1.0

Event = dict[str, Any]


class Subscription:
    """One subscriber's queue on one channel; a context manager that unsubscribes on exit.

    Registered when created, so nothing published after ``subscribe()`` returns is missed
    (a page reads its backlog *after* subscribing).
    """

    def __init__(self, hub: LocalBroadcast, channel: str) -> None:
        self.channel = channel
        self._hub = hub
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_SIZE)

    def _put(self, event: Event) -> None:
        """On the subscriber's loop: queue ``event``, dropping the oldest when full."""
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(event)

    def deliver(self, event: Event) -> None:
        """From any thread: hand ``event`` to the subscriber's loop."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            self._loop.call_soon_threadsafe(self._put, event)

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or ``None`` when ``timeout`` seconds pass without one."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        while True:
            yield await self._queue.get()

    def close(self) -> None:
        """Stop receiving events."""
        self._hub._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Broadcast(Protocol):
    """Publish small JSON-able events on named channels; subscribe to a channel."""

    def publish(self, channel: str, event: Mapping[str, Any]) -> None:
        """Send ``event`` to every subscriber of ``channel`` (any process, any thread)."""

    def subscribe(self, channel: str) -> Subscription:
        """A new subscription to ``channel`` (call from inside the subscriber's event loop)."""

    async def ready(self, timeout: float = 10.0) -> None:
        """Wait until events published from now on reach this loop's subscriptions (a stream
        awaits it after subscribing, before it reads its backlog)."""

    def close(self) -> None:
        """Release connections (the cabinet is closing)."""


class LocalBroadcast:
    """The in-process broadcast: subscribers of this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = {}

    def publish(self, channel: str, event: Mapping[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for subscription in targets:
            subscription.deliver(dict(event))

    def publish_everywhere(self, event: Mapping[str, Any]) -> None:
        """Send ``event`` to every subscriber of every channel (after a missed stretch)."""
        with self._lock:
            channels = list(self._subscribers)
        for channel in channels:
            self.publish(channel, event)

    def subscribe(self, channel: str) -> Subscription:
        subscription = Subscription(self, channel)
        with self._lock:
            self._subscribers.setdefault(channel, set()).add(subscription)
        return subscription

    async def ready(self, timeout: float = 10.0) -> None:
        """In one process a subscription hears everything from the moment it exists."""

    def subscriber_count(self, channel: str) -> int:
        """How many subscriptions ``channel`` has (for tests and health pages)."""
        with self._lock:
            return len(self._subscribers.get(channel, ()))

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscribers.get(subscription.channel)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[subscription.channel]

    def close(self) -> None:
        with self._lock:
            self._subscribers.clear()


def libpq_conninfo(database_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (``postgresql+psycopg://...``) as psycopg's connection URL."""
    url = sa.engine.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresBroadcast:
    """``LISTEN``/``NOTIFY`` across the processes that share one PostgreSQL database.

    ``publish`` runs ``pg_notify`` in a transaction of its own (the service has committed
    already, so the event never announces a row others cannot read yet). The
    first ``subscribe`` in an event loop starts that loop's listener task; after the listening
    connection is lost and regained, every local subscriber gets a ``{"type": "resync"}``
    event, so pages re-read what they may have missed.
    """

    def __init__(self, database_url: str, *, engine: sa.engine.Engine | None = None) -> None:
        self.conninfo = libpq_conninfo(database_url)
        self.local = LocalBroadcast()
        #: Publishing borrows a pooled connection of the cabinet's engine when given one.
        self._engine = engine
        self._listeners: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._listening: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}

    def publish(self, channel: str, event: Mapping[str, Any]) -> None:
        payload = json.dumps({"channel": channel, "event": dict(event)}, separators=(",", ":"))
        try:
            if self._engine is not None:
                with self._engine.connect() as connection:
                    connection.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, payload)))
                    connection.commit()
            else:
                import psycopg

                with psycopg.connect(self.conninfo, autocommit=True) as connection:
                    connection.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, payload))
        except Exception:
            # The message is stored already: a failed poke is logged, never the poster's error;
            # open pages see the message at their next event or reload.
            log.warning("broadcast: could not notify %s", channel, exc_info=True)

    def subscribe(self, channel: str) -> Subscription:
        loop = asyncio.get_running_loop()
        task = self._listeners.get(loop)
        if task is None or task.done():
            self._listening[loop] = asyncio.Event()
            self._listeners[loop] = loop.create_task(self._listen(self._listening[loop]))
        return self.local.subscribe(channel)

    async def ready(self, timeout: float = 10.0) -> None:
        """Wait until this loop's listener has run ``LISTEN``; a :class:`TimeoutError` when
        the database does not answer in ``timeout`` seconds."""
        ready = self._listening.get(asyncio.get_running_loop())
        if ready is not None:
            await asyncio.wait_for(ready.wait(), timeout)

    async def _listen(self, ready: asyncio.Event) -> None:
        import psycopg

        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    ready.set()
                    if not first:
                        self.local.publish_everywhere({"type": "resync"})
                    first = False
                    async for notify in connection.notifies():
                        self._dispatch(notify.payload)
            except Exception:
                ready.clear()
                log.warning("broadcast: listening connection lost", exc_info=True)
                first = False
                await asyncio.sleep(RECONNECT_SECONDS)

    def _dispatch(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            channel, event = data["channel"], data["event"]
        except (ValueError, KeyError, TypeError):
            log.warning("broadcast: ignoring a malformed notification %r", payload[:200])
            return
        self.local.publish(str(channel), event)

    def close(self) -> None:
        for loop, task in list(self._listeners.items()):
            if not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)
        self._listeners.clear()
        self.local.close()


def broadcast_for(
    database_url: str, *, engine: sa.engine.Engine | None = None
) -> LocalBroadcast | PostgresBroadcast:
    """PostgreSQL's ``LISTEN``/``NOTIFY`` for a PostgreSQL database, else in-process."""
    if sa.engine.make_url(database_url).get_backend_name() == "postgresql":
        return PostgresBroadcast(database_url, engine=engine)
    return LocalBroadcast()
