"""Databases for tests and benchmarks: the PostgreSQL server, throwaway databases on it, and
emptying one between tests.

The server comes from ``CABINET_TEST_POSTGRES_URL`` (a maintenance URL, usually ending in
``/postgres``), defaulting to a trust-auth server on loopback.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import sqlalchemy as sa

from cabinet_core.storage import Store
from cabinet_core.storage.schema import metadata

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "POSTGRES_URL_VARIABLE",
    "create_database",
    "database_url",
    "drop_database",
    "empty_database",
    "in_ci",
    "postgres_server",
    "postgres_unreachable",
    "throwaway_database",
]

POSTGRES_URL_VARIABLE = "CABINET_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this runs under CI (``CI`` set true), where a missing server is a failure."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in {"1", "true", "yes"}


def postgres_server(environ: Mapping[str, str] | None = None) -> str:
    """The PostgreSQL server's maintenance URL (``CABINET_TEST_POSTGRES_URL`` or the default)."""
    env = os.environ if environ is None else environ
    return env.get(POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL


def postgres_unreachable(server: str) -> str | None:
    """Why ``server`` cannot be used (the driver's message), or ``None`` when it answers."""
    engine = sa.create_engine(server)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL is not reachable at {server}: {exc.orig}"
    finally:
        engine.dispose()
    return None


def database_url(server: str, name: str) -> str:
    """The URL of database ``name`` on ``server`` (password kept)."""
    return sa.make_url(server).set(database=name).render_as_string(hide_password=False)


def _exists(connection: sa.Connection, name: str) -> bool:
    found = connection.execute(
        sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
    ).first()
    return found is not None


def create_database(server: str, name: str, *, replace: bool = False) -> str:
    """Create database ``name`` on ``server`` unless it exists (``replace`` drops it first);
    its URL."""
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if replace:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not _exists(connection, name):
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return database_url(server, name)


def drop_database(server: str, name: str) -> None:
    """Drop database ``name`` on ``server``, closing its connections; nothing if it is gone."""
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def throwaway_database(server: str, *, prefix: str = "cabinet_test") -> Iterator[str]:
    """A new database with a random name on ``server``, dropped on exit; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = create_database(server, name)
    try:
        yield url
    finally:
        drop_database(server, name)


def empty_database(store: Store) -> None:
    """Delete every row of a PostgreSQL cabinet and restart its ids, so the next test that
    shares the database starts from an empty one (faster than a new database per test)."""
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with store.engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
