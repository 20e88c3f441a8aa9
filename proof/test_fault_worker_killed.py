"""A ``cabinet worker`` process killed in the middle of a Bitrix24 batch leaves no duplicate.

The emulator is served on loopback from this process with slow server time; the worker is a
real subprocess configured like production (``CABINET_BITRIX_WEBHOOK_URL``, SQLite shared with
this test). It is SIGKILLed while the portal is spending server time on a batch that creates
items: the items exist, the worker never learns their ids, its claim stays on the outbox rows.
Once the lease is over (moved into the past here rather than waited for) a second worker (in
this process, over the same loopback socket) takes the same messages; it must find the items by
the cabinet's origin id instead of adding them again, so every document is in the CRM exactly
once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from bitrix24_emulator import Emulator, EmulatorConfig, SystemClock
from bitrix24_emulator.server import free_port, serve_in_thread
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import Address, Client, Document, DocumentLine, OutboxMessage, Party
from cabinet_core.storage import Store
from cabinet_core.storage.store import utcnow
from cabinet_core.worker import Worker

DOCUMENTS = 40


class WatchedClock(SystemClock):
    """Real time; tells when the portal is busy with a batch that creates items."""

    def __init__(self) -> None:
        self.writing = threading.Event()

    def sleep(self, seconds: float) -> None:
        if seconds >= 0.5:  # only a write batch takes this long with the config below
            self.writing.set()
        super().sleep(seconds)


def _cabinet_command() -> list[str]:
    script = Path(sys.executable).with_name("cabinet")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from cabinet_core.cli import main; main()"]


def _seed(store: Store) -> list[int]:
    with store.transaction() as tx:
        owner = tx.add_client(
            Client(name="Biuro Rachunkowe Sp. z o.o.", nip="5260250274", address=Address())
        )
        ids = []
        for n in range(DOCUMENTS):
            document = tx.add_document(
                Document(
                    client_id=owner.id,
                    doc_type="vat_invoice",
                    status="issued",
                    number=f"FV/{n + 1}/11/2026",
                    issue_date=date(2026, 11, 27),
                    buyer=Party(name=f"Klient {n % 3}", nip="1234563218"),
                    lines=(
                        DocumentLine(name=f"Usługa {n}", unit_price=Decimal("100.00") + n),
                        DocumentLine(
                            name="Książka", quantity=Decimal(2), unit_price=Decimal("9.5")
                        ),
                    ),
                )
            )
            assert document.id is not None
            ids.append(document.id)
            tx.add_outbox(
                OutboxMessage(topic="document.created", entity="document", entity_id=document.id),
                subscribers=("bitrix24",),  # the worker runs with CABINET_CRM_BACKENDS=bitrix24
            )
        return ids


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [*_cabinet_command(), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait(condition, what: str, seconds: float, process: subprocess.Popen[bytes], log: Path):
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            pytest.fail(
                f"the worker exited ({process.returncode}) before {what}:\n{log.read_text()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()}")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(how)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    clock = WatchedClock()
    # 1 s of server time per 50 written commands (25 documents with their rows): long
    # enough to kill the worker while the portal is busy with its first write batch.
    emulator = Emulator(
        EmulatorConfig(portal_url=f"http://127.0.0.1:{port}", write_seconds=0.02),
        clock=clock,
    )
    url = f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"
    store = Store.from_url(url)
    store.migrate()
    ids = _seed(store)
    env = {
        # Only this test's own CABINET_* settings reach the worker process.
        **{k: v for k, v in os.environ.items() if not k.startswith("CABINET_")},
        "CABINET_DATA_DIR": str(tmp_path),
        "CABINET_DATABASE_URL": url,
        "CABINET_CRM_BACKENDS": "bitrix24",
        "CABINET_BITRIX_WEBHOOK_URL": emulator.webhook_url,
        "CABINET_BITRIX_ENTITY_TYPES": "vat_invoice=1038",
    }
    for name in [k for k in os.environ if k.startswith("CABINET_") and k not in env]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("CABINET_"):
            monkeypatch.setenv(name, value)  # the in-process worker reads them too
    log = tmp_path / "worker.log"
    try:
        with serve_in_thread(emulator, port=port):
            first = _worker(env, log)
            try:
                _wait(
                    clock.writing.is_set, "a write batch", 60, first, log
                )  # a loaded CI host starts slowly
                first.send_signal(signal.SIGKILL)
            finally:
                _stop(first, signal.SIGKILL)
            created_before = len(emulator.portal.items.get(1038, {}))
            assert created_before > 0  # the portal did write while the worker died
            delivered = store.list_outbox(status="delivered", limit=1000)
            assert len(delivered) < DOCUMENTS  # the batch in flight was never acknowledged

            # The lease of the dead worker's claim is over.
            with store.engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "UPDATE outbox_deliveries SET claimed_until = :past"
                        " WHERE claimed_until IS NOT NULL"
                    ),
                    {"past": utcnow() - timedelta(seconds=1)},
                )
            # Another worker (in this process, to spare a second interpreter start) takes over.
            settings = Settings.from_env(env)
            with Cabinet(settings) as cabinet:
                worker = Worker(cabinet)
                deadline = time.monotonic() + 20
                try:
                    while worker.run_once():
                        assert time.monotonic() < deadline, "the second worker did not finish"
                finally:
                    for backend in cabinet.crm_backends():
                        backend.client.close()  # type: ignore[attr-defined]
    finally:
        store.close()

    items = list(emulator.portal.items[1038].values())
    origins = Counter(item["xmlId"] for item in items)
    assert origins == Counter({f"cabinet-document-{doc_id}": 1 for doc_id in ids})
    for item in items:
        assert len(emulator.portal.rows[("T40e", item["id"])]) == 2
    assert store.list_outbox(status="failed") == []
