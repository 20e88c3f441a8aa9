"""Shared fixtures: a migrated :class:`Store` on SQLite and on PostgreSQL.

``store`` runs each test on both databases. SQLite gets a fresh file per test; PostgreSQL gets
one throwaway database per session (a random name, dropped at the end) whose tables are emptied
after each test. The server comes from ``CABINET_TEST_POSTGRES_URL``; when it cannot be
reached the PostgreSQL cases are skipped, except with ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cabinet_core.storage import Store
from cabinet_core.storage.schema import metadata

# The service tests' fixtures (helper D): a Cabinet on ``store`` and a small world of users.
pytest_plugins = ["fixtures_services"]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL server's maintenance URL, or skip (fail under CI) when unreachable."""
    url = os.environ.get("CABINET_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {url}: {exc.orig}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """The URL of a throwaway database created for this test session and dropped after it."""
    name = f"cabinet_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def empty_postgres(store: Store) -> None:
    """Delete every row (and restart ids) so the next test starts from an empty database."""
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with store.engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def pg_test_url(pg_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied after the test that uses it."""
    yield pg_url
    cleaner = Store.from_url(pg_url)
    try:
        cleaner.migrate()
        empty_postgres(cleaner)
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
