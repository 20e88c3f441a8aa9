"""Helpers the cabinet-web tests share (a module of its own: several test directories have a
``conftest``, and importing from one by name is ambiguous when they run together)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Client, User
from cabinet_core.settings import Branding, Settings
from starlette.testclient import TestClient

SYSTEM = Actor.system()
PASSWORD = "correct-horse-9"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@attrs.frozen
class World:
    """The people and companies most tests need."""

    client: Client
    other_client: Client
    client_user: User
    other_user: User
    manager: User
    accountant: User
    admin: User


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test cabinet: SQLite under ``data_dir``, a fixed secret, low throttling."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "secret_key": "test-secret-key-" + "x" * 32,
        "branding": Branding(
            firm_name="Kancelaria Testowa", primary_color="#123456", accent_color="#abcdef"
        ),
        "login_attempts": 3,
    }
    values.update(overrides)
    return Settings(**values)


def csrf_of(web: TestClient, path: str = "/login") -> str:
    """The CSRF token in the forms of ``path``."""
    response = web.get(path)
    match = CSRF.search(response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(web: TestClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the login form; returns the response after redirects."""
    return web.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_of(web)}
    )


def closed_port() -> int:
    """A loopback port nobody listens on (an SMTP server that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def empty_postgres(cabinet: Cabinet) -> None:
    """The session's PostgreSQL database as the next test expects it: no rows."""
    from cabinet_core.testing.databases import empty_database

    empty_database(cabinet.store)


def pdf_cabinet(
    tmp_path: Path, database_url: str | None = None, **overrides: Any
) -> Iterator[Cabinet]:
    """A migrated cabinet with the PDF renderer plugin (downloads, mailed PDFs); a PostgreSQL
    database is emptied afterwards (the session shares it)."""
    import cabinet_pdf.plugin
    from argon2 import PasswordHasher

    settings = make_settings(tmp_path, database_url=database_url, **overrides)
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin]) as cab:
        # argon2id still, with the smallest cost: the production cost would dominate the run.
        cab.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cab.migrate()
        try:
            yield cab
        finally:
            if database_url is not None:
                empty_postgres(cab)
