"""Fixtures: a migrated cabinet on a temporary SQLite file, its web app and signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.entities import Address, Client, Role
from cabinet_core.testing import require_postgres
from cabinet_core.testing.databases import throwaway_database
from cabinet_web.app import create_app
from starlette.testclient import TestClient
from web_support import PASSWORD, SYSTEM, World, empty_postgres, login, make_settings

# No per-example deadline: these machines are shared and noisy, and speed is measured in bench/,
# not in tests (an example that took 300 ms under load is not a failure).
hypothesis.settings.register_profile("cabinet", deadline=None)
hypothesis.settings.load_profile("cabinet")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this session (skipped when the server is not
    reachable, a failure when ``CI`` is set)."""
    with throwaway_database(require_postgres(), prefix="cabinet_web_test") as url:
        yield url


@pytest.fixture
def database_url() -> str | None:
    """The database of the test cabinet: ``None`` is the SQLite file under the data dir.

    A test module overrides this with :func:`database_urls` to run on PostgreSQL as well.
    """
    return None


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    """A migrated cabinet with the core's built-in plugins (no installed entry points)."""
    settings = make_settings(tmp_path, database_url=database_url)
    with Cabinet(settings, load_entrypoints=False) as cab:
        # argon2id still, with the smallest cost: the production cost would dominate the run.
        cab.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cab.migrate()
        try:
            yield cab
        finally:
            if database_url is not None:
                empty_postgres(cab)


@pytest.fixture
def world(cabinet: Cabinet) -> World:
    """Two clients, a user of each, and one user of each staff role."""
    manager = cabinet.users.create(
        SYSTEM,
        email="manager@test.pl",
        name="Marek",
        role=Role.MANAGER,
        client_id=None,
        password=PASSWORD,
    )
    client = cabinet.clients.create(
        SYSTEM,
        Client(
            name="Alfa sp. z o.o.",
            nip="5250000110",
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
            manager_id=manager.id,
        ),
    )
    other = cabinet.clients.create(SYSTEM, Client(name="Beta s.c.", nip="7790000126"))
    client_user = cabinet.users.create(
        SYSTEM,
        email="client@test.pl",
        name="Jan",
        role=Role.CLIENT,
        client_id=client.id,
        password=PASSWORD,
    )
    other_user = cabinet.users.create(
        SYSTEM,
        email="other@test.pl",
        name="Ola",
        role=Role.CLIENT,
        client_id=other.id,
        password=PASSWORD,
        language="en",
    )
    accountant = cabinet.users.create(
        SYSTEM,
        email="accountant@test.pl",
        name="Kasia",
        role=Role.ACCOUNTANT,
        client_id=None,
        password=PASSWORD,
    )
    admin = cabinet.users.create(
        SYSTEM,
        email="admin@test.pl",
        name="Ada",
        role=Role.ADMIN,
        client_id=None,
        password=PASSWORD,
    )
    return World(
        client=client,
        other_client=other,
        client_user=client_user,
        other_user=other_user,
        manager=manager,
        accountant=accountant,
        admin=admin,
    )


@pytest.fixture
def app(cabinet: Cabinet) -> Any:
    """The web app of the test cabinet."""
    return create_app(cabinet)


@pytest.fixture
def web(app: Any) -> Iterator[TestClient]:
    """An anonymous browser (cookies kept between requests)."""
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def client_web(web: TestClient, world: World) -> TestClient:
    """A browser signed in as the client user."""
    assert login(web, world.client_user.email).url.path == "/"
    return web


@pytest.fixture
def manager_web(web: TestClient, world: World) -> TestClient:
    """A browser signed in as the manager."""
    assert login(web, world.manager.email).url.path == "/"
    return web


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_urls(request: pytest.FixtureRequest) -> str | None:
    """SQLite, then the session's PostgreSQL database (for modules that run on both)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url
