"""The contract kit for plugin authors: pytest fixtures and contract suites.

Opt in from your project's top-level ``conftest.py``::

    pytest_plugins = ["cabinet_core.testing"]

(or, in a conftest below the top level, where pytest refuses ``pytest_plugins``, import the
fixtures you use: ``from cabinet_core.testing import cabinet, cabinet_plugins``). Then:

* ``cabinet``: a migrated :class:`~cabinet_core.app.Cabinet` on a temporary SQLite file, with
  the core's built-ins and the plugins the ``cabinet_plugins`` fixture lists (override it);
  ``cabinet_settings`` gives its settings (override to change them).
* ``postgres_url``: a throwaway PostgreSQL database for the session, on the server
  ``CABINET_TEST_POSTGRES_URL`` names; skipped when unreachable, a failure under ``CI=true``.
* ``smtp_sink``: a real SMTP server on loopback that keeps what it receives (needs aiosmtpd;
  skipped, saying so, without it).
* :class:`CrmBackendContract`, :class:`RendererContract`, :class:`DocumentTypeContract`: base
  test classes to subclass; each module says which fixtures it needs.

``docs/plugins/testing.md`` walks through each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from cabinet_core.app import Cabinet
from cabinet_core.settings import Settings
from cabinet_core.testing.crm import CrmBackendContract
from cabinet_core.testing.databases import (
    in_ci,
    postgres_server,
    postgres_unreachable,
    throwaway_database,
)
from cabinet_core.testing.doctypes import DocumentTypeContract
from cabinet_core.testing.rendering import RendererContract
from cabinet_core.testing.samples import SampleWorld, sample_messages, sample_world
from cabinet_core.testing.smtp import SmtpSink, running_sink

__all__ = [
    "CrmBackendContract",
    "DocumentTypeContract",
    "RendererContract",
    "SampleWorld",
    "SmtpSink",
    "cabinet",
    "cabinet_plugins",
    "cabinet_settings",
    "fast_password_hashing",
    "postgres_url",
    "require_postgres",
    "sample_messages",
    "sample_world",
    "smtp_sink",
]

#: A fixed secret: sessions and signatures in tests are reproducible.
TEST_SECRET_KEY = "cabinet-test-secret-" + "x" * 32


def fast_password_hashing(cabinet: Cabinet) -> None:
    """argon2id still, with the smallest cost: the production cost would dominate a test run."""
    from argon2 import PasswordHasher

    cabinet.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def cabinet_plugins() -> Sequence[object]:
    """Plugin objects (modules or instances with hook implementations) the test cabinet
    registers besides the core's built-ins. Override it to add yours."""
    return ()


@pytest.fixture
def cabinet_settings(tmp_path: Path) -> Settings:
    """Settings of the test cabinet: its data (and SQLite file) under ``tmp_path``."""
    return Settings(data_dir=tmp_path, secret_key=TEST_SECRET_KEY)


@pytest.fixture
def cabinet(cabinet_settings: Settings, cabinet_plugins: Sequence[object]) -> Iterator[Cabinet]:
    """A migrated cabinet on a temporary SQLite file (no installed entry points are loaded:
    only the built-ins and ``cabinet_plugins``), closed after the test."""
    with Cabinet(cabinet_settings, load_entrypoints=False, plugins=cabinet_plugins) as made:
        fast_password_hashing(made)
        made.migrate()
        yield made


def require_postgres() -> str:
    """The PostgreSQL server's maintenance URL; skips the calling test when the server does
    not answer, or fails it under CI (where a missing server is a broken setup)."""
    server = postgres_server()
    reason = postgres_unreachable(server)
    if reason is not None:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for the session, dropped at its end."""
    with throwaway_database(require_postgres()) as url:
        yield url


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on a free loopback port; ``.received`` lists what it got."""
    pytest.importorskip("aiosmtpd", reason="the SMTP sink needs aiosmtpd (pip install aiosmtpd)")
    with running_sink() as sink:
        yield sink
