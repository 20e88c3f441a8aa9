"""Two ``cabinet worker`` processes on one PostgreSQL database against the KSeF emulator:
every invoice reaches KSeF exactly once, and no client ever has two online sessions.

Each invoice has two ``ksef.send`` messages (its own and a re-queue, as after an outage), and
the workers claim two messages at a time, so both processes hold messages for the same
documents and the same clients at once: only the client's lease (``port.lease``) and the
submission read again under it keep them from sending a document twice."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cabinet_ksef.plugin
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.ksef.submission import KsefState
from cabinet_core.settings import Settings
from cabinet_core.testing import TEST_SECRET_KEY, fast_password_hashing, require_postgres
from cabinet_core.testing.databases import throwaway_database
from emulated_ksef import World, connect, free_port
from ksef_emulator import Emulator, EmulatorConfig
from ksef_emulator.server import serve_in_thread

pytestmark = pytest.mark.postgres

NIPS = ("5265877635", "1070001057", "5270103391")
PER_CLIENT = 6
WORKER = Path(__file__).with_name("two_workers_worker.py")


@pytest.fixture
def database() -> Iterator[str]:
    with throwaway_database(require_postgres()) as url:
        yield url


def test_two_worker_processes_send_every_invoice_exactly_once(
    database: str, tmp_path: Path
) -> None:
    port = free_port()
    emulator = Emulator(
        EmulatorConfig(base_url=f"http://127.0.0.1:{port}", seed="two", processing_seconds=0.0)
    )
    with serve_in_thread(emulator, port=port) as served:
        base_url = f"{served.url}/v2"
        settings = Settings(
            data_dir=tmp_path,
            database_url=database,
            secret_key=TEST_SECRET_KEY,
            plugins={"ksef": {"base_url": base_url, "poll_seconds": "0.1"}},
        )
        with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_ksef.plugin]) as cabinet:
            fast_password_hashing(cabinet)
            cabinet.migrate()
            port_ = cabinet.ksef_port()
            documents: list[int] = []
            for nip in NIPS:
                client = connect(cabinet, emulator, nip)
                world = World(cabinet, emulator, served, client, None)  # type: ignore[arg-type]
                for _ in range(PER_CLIENT):
                    document = world.issue()
                    assert document.id is not None
                    documents.append(document.id)
            for document_id in documents:
                port_.requeue(document_id, reason="a second message for the same invoice")

            config = tmp_path / "worker.conf"
            config.write_text(f"{database}\n{base_url}\n{tmp_path}\n")
            stop = tmp_path / "stop"
            workers = [
                subprocess.Popen(
                    [sys.executable, str(WORKER), str(config), str(stop)],
                    cwd=WORKER.parent,
                    stderr=subprocess.PIPE,
                )
                for _ in range(2)
            ]
            try:
                deadline = time.monotonic() + 100
                while time.monotonic() < deadline:
                    states = {port_.submission(d).state for d in documents}  # type: ignore[union-attr]
                    if states == {KsefState.ACCEPTED}:
                        break
                    assert all(w.poll() is None for w in workers), "a worker died"
                    time.sleep(0.5)
            finally:
                stop.touch()
                errors = [w.communicate(timeout=60)[1].decode() for w in workers]
            for submission in (port_.submission(d) for d in documents):
                assert submission is not None
                assert submission.state is KsefState.ACCEPTED, (submission, errors)

        received = [i for i in emulator.state.invoices.values() if i.session_reference]
        # Exactly once: one invoice in KSeF per document, no hash twice.
        assert len(received) == len(documents)
        assert max(Counter(i.invoice_hash for i in received).values()) == 1
        # One online session per client, shared by both processes (never two opened).
        sessions = Counter(s.context_value for s in emulator.state.sessions.values())
        assert sessions == dict.fromkeys(NIPS, 1)
