"""Shared fixtures: a migrated :class:`Store` on SQLite and on PostgreSQL.

``store`` runs each test on both databases. SQLite gets a fresh file per test; PostgreSQL gets
one throwaway database per session (a random name, dropped at the end) whose tables are emptied
after each test. The server comes from ``CABINET_TEST_POSTGRES_URL``; when it cannot be
reached the PostgreSQL cases are skipped, except with ``CI=true``, where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
from cabinet_core.storage import Store
from cabinet_core.testing import require_postgres
from cabinet_core.testing.databases import empty_database, throwaway_database

# No per-example deadline: these machines are shared and noisy, and speed is measured in bench/,
# not in tests (an example that took 300 ms under load is not a failure).
hypothesis.settings.register_profile("cabinet", deadline=None)
hypothesis.settings.load_profile("cabinet")


# The service tests' fixtures (helper D): a Cabinet on ``store`` and a small world of users.
pytest_plugins = ["fixtures_services"]


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL server's maintenance URL, or skip (fail under CI) when unreachable."""
    return require_postgres()


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """The URL of a throwaway database created for this test session and dropped after it."""
    with throwaway_database(pg_server_url) as url:
        yield url


@pytest.fixture
def pg_test_url(pg_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied after the test that uses it."""
    yield pg_url
    cleaner = Store.from_url(pg_url)
    try:
        cleaner.migrate()
        empty_database(cleaner)
    finally:
        cleaner.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on each backend; the PostgreSQL one is emptied after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"
        return
    yield request.getfixturevalue("pg_test_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on SQLite and on PostgreSQL (the test runs once on each)."""
    opened = Store.from_url(db_url, pool_size=20, max_overflow=10)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()
