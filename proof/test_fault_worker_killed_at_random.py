"""A 2,000-document sync by real ``cabinet worker`` processes, SIGKILLed at random points
(seeded), against the Bitrix24 emulator served by its own process with faults: bursts of 503,
server errors, answers lost after the work was done, slow answers and answers slower than the
worker's timeout, and a short outage.

Each round starts a worker (configured as production is: ``CABINET_BITRIX_*``, SQLite shared
with this test), waits until it is delivering, lets it run a random while and kills it with
SIGKILL: most kills land while the portal is working on a batch (the items exist, the worker
never hears), some between two batches. The dead worker's lease is then moved into the past
(rather than waited for, ten minutes) and the next worker starts. After the last kill a worker
runs until the outbox is empty and the faults stop. Then, read back through the portal's own
REST API as any CRM client would: every document is in the CRM exactly once (by the cabinet's
origin id), each with its two product rows, on the stage of its status, with its Responsible;
every company exactly once; and in the cabinet nothing is half-saved: every delivery delivered
(none failed, none still claimed), every document as it was written.

``CABINET_KILL_SEED`` picks other kill points than CI's. The worker's read timeout is 30 s:
on a host so loaded that the emulator's process takes longer than that to answer, claims fail
by timeout and spend attempts (10 at most) faster than the faults alone would.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from backlog import queue_invoices
from bitrix24_emulator.server import free_port
from cabinet_bitrix.batching import command_string
from cabinet_bitrix.client import BitrixClient, RetryPolicy
from cabinet_bitrix.paging import pages, rows_of
from cabinet_core.storage import Store
from cabinet_core.storage.schema import outbox_deliveries
from cabinet_core.storage.store import utcnow

DOCUMENTS = 2000
KILLS = 4
SPA = 1038
SEED = int(os.environ.get("CABINET_KILL_SEED", "20261207"))
WEBHOOK_TOKEN = "killedworkerproof"
#: The worker's read timeout; the slowest answers below take longer.
TIMEOUT_SECONDS = 30.0
#: The faults during the sync, in real time. Recurring (``every``-th matching request): what
#: the client waits out by itself. Counted (``count`` times, on every ``every``-th request):
#: what fails the worker's claim (a create whose answer was lost or late, a 5xx after a create
#: that may have gone through), so the messages are tried again, with the worker's backoff.
FAULTS: tuple[dict[str, Any], ...] = (
    {"kind": "query_limit", "every": 7},  # another app on the same address took the bucket
    {"kind": "slow", "every": 5, "seconds": 0.4},  # slow, but within the timeout
    {"kind": "slow", "every": 13, "count": 2, "seconds": TIMEOUT_SECONDS + 2},  # past it
    {"kind": "dropped", "every": 11, "count": 2, "writes": True},  # work done, answer lost
    {"kind": "internal_error", "every": 17, "count": 1},
    {"kind": "html_error", "every": 19, "count": 1},  # a proxy's error page
)


def _cabinet_command() -> list[str]:
    script = Path(sys.executable).with_name("cabinet")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from cabinet_core.cli import main; main()"]


class Portal:
    """The emulator's process and the test's own view of it (control API and REST)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.webhook = f"{self.base}/rest/1/{WEBHOOK_TOKEN}/"
        self.log = folder / "emulator.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bitrix24_emulator",
                    "--port",
                    str(self.port),
                    "--webhook-token",
                    WEBHOOK_TOKEN,
                    # 0.5 s of server time per batch of 50 writes: a kill often lands in one.
                    "--write-seconds",
                    "0.01",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        # Generous: on a loaded machine the emulator may take a while to answer.
        self.control = httpx.Client(base_url=self.base, timeout=120)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.control.get("/_emulator/state").raise_for_status()
                break
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the emulator did not start:\n{self.log.read_text()}")
                time.sleep(0.1)

    def inject(self, **spec: Any) -> None:
        self.control.post("/_emulator/faults", json=spec).raise_for_status()

    def clear_faults(self) -> None:
        self.control.delete("/_emulator/faults").raise_for_status()

    def item_count(self) -> int:
        items = self.control.get("/_emulator/state").json()["items"]
        return len(items.get(str(SPA), []))

    def close(self) -> None:
        self.control.close()
        _stop(self.process, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(how)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _deliveries(store: Store) -> Counter[str]:
    """How many deliveries are pending, claimed, delivered and failed."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT CASE WHEN delivered_at IS NOT NULL THEN 'delivered'"
                " WHEN failed_at IS NOT NULL THEN 'failed'"
                " WHEN claimed_until IS NOT NULL THEN 'claimed' ELSE 'pending' END, count(*)"
                " FROM outbox_deliveries GROUP BY 1"
            )
        ).all()
    return Counter({str(state): int(count) for state, count in rows})


def _skip_backoff(store: Store) -> None:
    """Messages waiting for their next attempt are due now: the worker's backoff (seconds to
    an hour) passes at once, as the in-process suites jump their virtual clock to the next
    retry. The attempts still count, against the worker's limit of 10."""
    now = utcnow()
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(outbox_deliveries)
            .where(
                outbox_deliveries.c.next_attempt_at > now,
                outbox_deliveries.c.delivered_at.is_(None),
                outbox_deliveries.c.failed_at.is_(None),
            )
            .values(next_attempt_at=now)
        )


def _end_leases(store: Store) -> None:
    """The lease of a killed worker's claim is over (moved into the past rather than waited
    for: ten minutes)."""
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(outbox_deliveries)
            .where(
                outbox_deliveries.c.claimed_until.is_not(None),
                outbox_deliveries.c.delivered_at.is_(None),
                outbox_deliveries.c.failed_at.is_(None),
            )
            .values(claimed_until=utcnow() - timedelta(seconds=1))
        )


def _wait(
    store: Store,
    condition: Callable[[], bool],
    what: str,
    seconds: float,
    process: subprocess.Popen[bytes],
    log: Path,
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        _skip_backoff(store)
        if process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}) before {what}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{_tail(log)}")
        time.sleep(1.0)


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-40:])


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    made = Portal(tmp_path)
    try:
        yield made
    finally:
        made.close()


def _read_back(
    webhook: str,
) -> tuple[list[dict[str, Any]], dict[int, list[Any]], list[dict[str, Any]]]:
    """Every item of the invoices' entity type, each one's product rows and every company,
    read through the portal's REST API (paced as the standard plan asks)."""
    with BitrixClient(webhook, retry=RetryPolicy(attempts=8, max_wait=60)) as bitrix:
        select = ["id", "xmlId", "stageId", "assignedById"]
        items = list(
            pages(bitrix, "crm.item.list", {"entityTypeId": SPA, "select": select}, key="items")
        )
        rows: dict[int, list[Any]] = {}
        for n in range(0, len(items), 50):
            commands = {
                str(item["id"]): command_string(
                    "crm.item.productrow.list",
                    {"filter": {"=ownerType": "T40e", "=ownerId": item["id"]}},
                )
                for item in items[n : n + 50]
            }
            answer = bitrix.call("batch", {"halt": 1, "cmd": commands})
            assert not answer.get("result_error"), answer["result_error"]
            for key, result in answer["result"].items():
                rows[int(key)] = rows_of(result, "productRows")
        companies = list(
            pages(bitrix, "crm.item.list", {"entityTypeId": 4, "select": ["id", "originId"]})
        )
    return items, rows, companies


@pytest.mark.slow
def test_workers_killed_at_random_points_during_a_2000_document_sync_lose_and_duplicate_nothing(
    tmp_path: Path, portal: Portal
) -> None:
    rng = random.Random(SEED)
    url = f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"
    store = Store.from_url(url)
    store.migrate()
    ids = queue_invoices(store, DOCUMENTS, subscribers=("bitrix24",))
    env = {
        # Only this test's own CABINET_* settings reach the worker processes.
        **{k: v for k, v in os.environ.items() if not k.startswith("CABINET_")},
        "CABINET_DATA_DIR": str(tmp_path),
        "CABINET_DATABASE_URL": url,
        "CABINET_CRM_BACKENDS": "bitrix24",
        "CABINET_BITRIX_WEBHOOK_URL": portal.webhook,
        "CABINET_BITRIX_ENTITY_TYPES": f"vat_invoice={SPA}",
        "CABINET_BITRIX_TIMEOUT": str(TIMEOUT_SECONDS),
        "CABINET_BITRIX_RECONCILE_SECONDS": "20",
    }
    for spec in FAULTS:
        portal.inject(**spec)
    log = tmp_path / "worker.log"
    began = time.monotonic()
    kills: list[dict[str, int | float]] = []
    try:
        for round_ in range(KILLS):
            if round_ == 2:  # this round starts with the portal gone for a while
                portal.inject(kind="down", count=8)
            with log.open("ab") as out:
                worker = subprocess.Popen(
                    [*_cabinet_command(), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            try:
                written, delivered = portal.item_count(), _deliveries(store)["delivered"]

                def delivering(written: int = written, delivered: int = delivered) -> bool:
                    # The portal wrote for this worker, or it acknowledged something.
                    return (
                        portal.item_count() > written or _deliveries(store)["delivered"] > delivered
                    )

                _wait(
                    store,
                    delivering,
                    f"round {round_} to deliver",
                    300,
                    worker,
                    log,
                )
                pause = rng.uniform(0.0, 4.0)
                time.sleep(pause)
                worker.send_signal(signal.SIGKILL)
            finally:
                _stop(worker, signal.SIGKILL)
            counts = _deliveries(store)
            kills.append(
                {
                    "at": round(time.monotonic() - began, 1),
                    "after": round(pause, 2),
                    "in_crm": portal.item_count(),
                    "delivered": counts["delivered"],
                    "claimed": counts["claimed"],
                    "failed": counts["failed"],
                }
            )
            print("kill", kills[-1], flush=True)
            _end_leases(store)
            if counts["delivered"] >= DOCUMENTS:
                break

        # The last worker runs to the end.
        with log.open("ab") as out:
            worker = subprocess.Popen(
                [*_cabinet_command(), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            _wait(
                store,
                lambda: _deliveries(store)["delivered"] + _deliveries(store)["failed"] >= DOCUMENTS,
                "the last worker to finish",
                1200,
                worker,
                log,
            )
        finally:
            _stop(worker, signal.SIGTERM)
        portal.clear_faults()
    finally:
        store.close()

    print("kills:", kills)
    # Killed several times, most of them while the portal was writing for the worker.
    assert len(kills) >= 3, kills
    in_flight = [k for k in kills if int(k["in_crm"]) > int(k["delivered"])]
    assert in_flight, f"no kill landed while a batch was in flight: {kills}"

    store = Store.from_url(url)
    try:
        counts = _deliveries(store)
        assert counts == Counter({"delivered": DOCUMENTS}), counts
        with store.transaction(readonly=True) as tx:
            for doc_id in ids[:: DOCUMENTS // 20]:
                document = tx.get_document(doc_id)
                assert document is not None
                assert document.status == "issued" and len(document.lines) == 2
    finally:
        store.close()

    items, rows, companies = _read_back(portal.webhook)
    origins = Counter(item["xmlId"] for item in items)
    duplicated = {origin: n for origin, n in origins.items() if n > 1}
    assert not duplicated, f"{len(duplicated)} documents were created twice"
    assert origins == Counter({f"cabinet-document-{doc_id}": 1 for doc_id in ids})
    without_rows = [item["id"] for item in items if len(rows[int(item["id"])]) != 2]
    assert without_rows == [], f"{len(without_rows)} items without their two rows"
    # Every document is issued, of one client: one stage, one Responsible, one company.
    assert len({item["stageId"] for item in items}) == 1
    assert len({item["assignedById"] for item in items}) == 1
    assert all(int(item["assignedById"] or 0) > 0 for item in items)
    created = Counter(company.get("originId") for company in companies if company.get("originId"))
    assert all(count == 1 for count in created.values()), created
