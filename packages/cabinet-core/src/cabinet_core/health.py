"""Is this cabinet able to serve: the readiness checks behind ``/readyz``, the worker's
heartbeat, and the outbox's state per subscriber (also the metrics' gauges).

Liveness (``/healthz``) needs nothing here: a process that answers is alive. Readiness asks
three things of the database, each answered by one :class:`Check`:

* ``database``: a connection and ``SELECT 1`` succeed;
* ``migrations``: the schema is at the code's Alembic head (an upgrade that has not run yet,
  or code older than the database, both mean "do not send traffic here");
* ``worker``: a worker recorded a heartbeat within ``settings.worker_heartbeat_seconds``
  (0 turns this check off, for an installation that runs no worker on purpose).

The heartbeat is one row of the ``settings`` table (key :data:`HEARTBEAT_KEY`): the time, the
host and the process id of the worker that wrote it last. Several workers overwrite each
other's row, which is what readiness needs: *some* worker is alive.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs
import sqlalchemy as sa

from cabinet_core.storage import schema as t

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.storage import Store, Tx

__all__ = [
    "HEARTBEAT_KEY",
    "Check",
    "Heartbeat",
    "OutboxQueue",
    "head_revision",
    "outbox_status",
    "readiness",
    "record_heartbeat",
    "worker_heartbeat",
]

#: The ``settings`` row holding the last worker heartbeat.
HEARTBEAT_KEY = "worker.heartbeat"


@attrs.frozen
class Heartbeat:
    """When a worker last said it was alive, and which one (``host:pid``)."""

    at: datetime
    worker: str


@attrs.frozen
class Check:
    """One readiness check: its name, whether it passed, and (when not) what is wrong."""

    name: str
    ok: bool
    detail: str = ""


@attrs.frozen
class OutboxQueue:
    """One subscriber's outbox: deliveries waiting, the age of the oldest waiting message in
    seconds (0 when none waits), and deliveries given up."""

    subscriber: str
    pending: int
    oldest_age_seconds: float
    failed: int


def record_heartbeat(store: Store, *, now: datetime, worker: str | None = None) -> None:
    """Write the heartbeat of this process's worker (``host:pid`` unless ``worker`` is given)."""
    name = worker or f"{socket.gethostname()}:{os.getpid()}"
    with store.transaction() as tx:
        tx.set_setting(HEARTBEAT_KEY, {"at": now.isoformat(), "worker": name})


def worker_heartbeat(tx: Tx) -> Heartbeat | None:
    """The last heartbeat any worker recorded, or ``None`` when none ever did."""
    value = tx.get_setting(HEARTBEAT_KEY)
    if not isinstance(value, dict) or not isinstance(value.get("at"), str):
        return None
    try:
        at = datetime.fromisoformat(value["at"])
    except ValueError:
        return None
    return Heartbeat(at=at, worker=str(value.get("worker", "")))


def outbox_status(tx: Tx, *, now: datetime) -> list[OutboxQueue]:
    """Every subscriber that has deliveries waiting or given up, sorted by name."""
    d, o = t.outbox_deliveries, t.outbox
    is_open = sa.and_(d.c.delivered_at.is_(None), d.c.failed_at.is_(None))
    # Open rows are served by the partial index ix_outbox_deliveries_open; failed ones are few.
    open_rows = tx.connection.execute(
        sa.select(d.c.subscriber, sa.func.count(), sa.func.min(o.c.created_at))
        .join(o, o.c.id == d.c.message_id)
        .where(is_open)
        .group_by(d.c.subscriber)
    ).all()
    failed_rows = tx.connection.execute(
        sa.select(d.c.subscriber, sa.func.count())
        .where(d.c.failed_at.is_not(None))
        .group_by(d.c.subscriber)
    ).all()
    failed = {str(row[0]): int(row[1]) for row in failed_rows}
    queues: dict[str, OutboxQueue] = {}
    for subscriber, count, oldest in open_rows:
        age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        queues[subscriber] = OutboxQueue(
            subscriber=subscriber, pending=int(count), oldest_age_seconds=age, failed=0
        )
    for subscriber, count in failed.items():
        queue = queues.get(subscriber) or OutboxQueue(
            subscriber=subscriber, pending=0, oldest_age_seconds=0.0, failed=0
        )
        queues[subscriber] = attrs.evolve(queue, failed=count)
    return [queues[name] for name in sorted(queues)]


@functools.cache
def head_revision() -> str:
    """The Alembic revision this code's migrations end at."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import cabinet_core.storage

    config = Config()
    location = Path(cabinet_core.storage.__file__).with_name("migrations")
    config.set_main_option("script_location", str(location))
    heads = ScriptDirectory.from_config(config).get_heads()
    return ",".join(sorted(heads))


def readiness(cabinet: Cabinet, *, now: datetime | None = None) -> Sequence[Check]:
    """The three readiness checks (database, migrations, worker), in that order; a check that
    cannot run because an earlier one failed says so."""
    store = cabinet.store
    moment = now or store.clock()
    try:
        with store.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = _schema_revision(connection)
    except Exception as exc:
        reason = _first_line(exc)
        return (
            Check("database", False, f"cannot connect: {reason}"),
            Check("migrations", False, "not checked: no database"),
            Check("worker", False, "not checked: no database"),
        )
    checks = [Check("database", True)]
    head = head_revision()
    if current != head:
        checks.append(
            Check("migrations", False, f"database at {current or 'no schema'}, code at {head}")
        )
        checks.append(Check("worker", False, "not checked: schema not current"))
        return tuple(checks)
    checks.append(Check("migrations", True))
    limit = cabinet.settings.worker_heartbeat_seconds
    if limit <= 0:
        checks.append(Check("worker", True, "not checked (CABINET_WORKER_HEARTBEAT_SECONDS=0)"))
        return tuple(checks)
    with store.transaction(readonly=True) as tx:
        beat = worker_heartbeat(tx)
    if beat is None:
        checks.append(Check("worker", False, "no worker has recorded a heartbeat"))
    else:
        age = (moment - beat.at).total_seconds()
        if age > limit:
            checks.append(
                Check(
                    "worker",
                    False,
                    f"last heartbeat {age:.0f} s ago from {beat.worker} (limit {limit} s)",
                )
            )
        else:
            checks.append(Check("worker", True))
    return tuple(checks)


def _schema_revision(connection: sa.Connection) -> str | None:
    # Read directly rather than through Alembic's MigrationContext, which logs a line at each
    # call: a probe every few seconds would fill the log with them.
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
    return ",".join(sorted(versions)) or None


def _first_line(exc: BaseException) -> str:
    # The driver's own message says what failed (refused, timed out, bad password); a wrapper
    # raised over it (the store's "unavailable") keeps it as its cause.
    found: BaseException | None = exc
    while found is not None and getattr(found, "orig", None) is None:
        found = found.__cause__
    text = str(getattr(found, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
