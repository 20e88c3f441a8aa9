"""``Worker.in_thread``: the outbox delivered in a background thread while a block runs (the
demo and embedding servers use it), stopped when the block ends."""

from __future__ import annotations

import time
from pathlib import Path

from cabinet_core import Cabinet, Settings
from cabinet_core.entities import Actor, Role
from cabinet_core.worker import Worker


def test_the_thread_delivers_while_the_block_runs_and_stops_after(tmp_path: Path) -> None:
    with Cabinet(Settings(data_dir=tmp_path), load_entrypoints=False) as cabinet:
        cabinet.migrate()
        cabinet.users.create(
            Actor.system(),
            email="boss@firma.pl",
            name="Szef",
            role=Role.ADMIN,
            client_id=None,
            password="first-password-1",
        )
        assert cabinet.store.list_outbox(status="pending")
        with Worker(cabinet).in_thread(idle_sleep=0.01) as runner:
            assert runner.daemon and runner.name == "worker"
            deadline = time.monotonic() + 30
            while cabinet.store.list_outbox(status="pending"):
                assert time.monotonic() < deadline, "the worker thread delivered nothing"
                time.sleep(0.02)
        assert not runner.is_alive()
        assert cabinet.store.list_outbox(status="delivered")
