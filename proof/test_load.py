"""Many people at once get no error: the load benchmark's workload (``bench/load.py``: sign in,
browse, search, open documents, create and issue invoices, chat) in a short run against
``cabinet serve`` on SQLite (one process) and on PostgreSQL (two processes and a worker).

Speed and memory are the benchmark's business (``python -m bench load``, docs/performance.md):
this machine is shared, so here only correctness under concurrency is asserted.
"""

from __future__ import annotations

import os

import pytest

from bench.load import run_load

POSTGRES_URL = os.environ.get("CABINET_TEST_POSTGRES_URL")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_concurrent_people_get_no_error(database: str) -> None:
    if database == "postgresql" and not POSTGRES_URL:
        pytest.skip("CABINET_TEST_POSTGRES_URL is not set")
    result = run_load(
        database=database,
        processes=2 if database == "postgresql" else 1,
        people=30,
        clients=6,
        seconds=40,
        think=(0.2, 1.5),
        postgres_url=POSTGRES_URL or "",
    )
    assert result["errors"] == 0, result["first_errors"]
    # Everyone signed in and then worked: pages and writes of every kind were answered.
    assert result["logins"]["count"] == 30
    assert result["pages"]["count"] >= 100
    assert result["api_writes"]["count"] >= 10
