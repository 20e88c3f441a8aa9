"""One ``cabinet worker``-like process for ``test_two_workers_postgres``: the cabinet with the
KSeF plugin on the shared PostgreSQL database, delivering (small claims, so two processes
interleave on the same clients) until the file named by ``argv[2]`` appears."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import cabinet_ksef.plugin
from cabinet_core.app import Cabinet
from cabinet_core.settings import Settings
from cabinet_core.testing import TEST_SECRET_KEY
from cabinet_core.worker import Worker


def main() -> None:
    config = Path(sys.argv[1]).read_text().split("\n")
    database_url, base_url, data_dir = config[0], config[1], config[2]
    stop_file = Path(sys.argv[2])
    settings = Settings(
        data_dir=Path(data_dir),
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        worker_batch_size=2,
        plugins={"ksef": {"base_url": base_url, "poll_seconds": "0.1", "offline_seconds": "60"}},
    )
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_ksef.plugin]) as cabinet:
        worker = Worker(cabinet)
        stop = threading.Event()
        deadline = time.monotonic() + 120
        while not stop_file.exists() and time.monotonic() < deadline:
            if not worker.run_once():
                time.sleep(0.05)
        stop.set()


if __name__ == "__main__":
    main()
