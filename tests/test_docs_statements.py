"""What README.md and the guides say about pages and commands stays true.

Every page address they name (``/documents``, ``/clients/<id>/settings`` …) is a route of the
cabinet with every installed plugin, and each one without a placeholder opens for the role that
uses it in the demo's data; every ``cabinet …`` command they name exists (its ``--help`` runs).
The JSON API's list is kept true by test_docs_examples.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cabinet_core import Cabinet, Settings
from cabinet_core.cli import make_cli
from cabinet_web.app import create_app
from cabinet_web.demo import seed
from click.testing import CliRunner
from starlette.routing import Match
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    *(ROOT / "docs" / name for name in ("user-guide.md", "staff-guide.md", "configuration.md")),
    *(ROOT / "docs" / name for name in ("bitrix24.md", "ksef.md", "architecture.md")),
    *sorted((ROOT / "docs" / "pl").glob("*.md")),
]
PAGE = re.compile(r"`(/[a-z][A-Za-z0-9_\-/<>{}.]*(?:\?[^`\s]*)?)`")
COMMAND = re.compile(r"`cabinet ([a-z][a-z0-9-]*)(?: ([a-z][a-z0-9-]*))?")
# Addresses the documents name that are not pages for a browser: the JSON API (its own test),
# the CRM's inbound endpoints, plugins' static files.
NOT_PAGES = ("/api", "/hooks/", "/bitrix24/", "/static/")
# Who opens each page in the demo: the staff's pages for an admin, the rest as the client.
CLIENT_PAGES = ("/two-factor",)
# Files, not pages: a route that answers 404 until there is something to serve (the firm's logo).
FILES = ("/branding/logo",)
PLACEHOLDER = re.compile(r"<[^>]+>|\{[^}]+\}")


def documented_pages() -> dict[str, set[str]]:
    pages: dict[str, set[str]] = {}
    for path in DOCS:
        for page in PAGE.findall(path.read_text("utf-8")):
            if not page.startswith(NOT_PAGES):
                pages.setdefault(page, set()).add(path.name)
    return pages


def documented_commands() -> set[tuple[str, ...]]:
    commands: set[tuple[str, ...]] = set()
    for path in DOCS:
        for group, sub in COMMAND.findall(path.read_text("utf-8")):
            commands.add((group, sub) if group == "users" and sub else (group,))
    return commands


@pytest.fixture
def demo(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, secret_key="docs-statements-" + "x" * 32)
    with Cabinet(settings) as cabinet:
        cabinet.migrate()
        logins = {email: password for _, email, password in seed(cabinet, tmp_path)}
        yield create_app(cabinet), logins


def test_the_documents_are_scanned() -> None:
    pages = documented_pages()
    # Guards the scan: a wrong pattern would make the tests below pass with nothing checked.
    assert {"/documents", "/clients/new", "/settings/mail", "/help"} <= set(pages)
    assert ("worker",) in documented_commands()


def test_every_documented_page_is_a_route_and_opens(demo) -> None:  # type: ignore[no-untyped-def]
    app, logins = demo
    unknown = []
    for page, sources in sorted(documented_pages().items()):
        path = PLACEHOLDER.sub("1", page.partition("?")[0]).rstrip("/") or "/"
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        if not any(route.matches(scope)[0] is not Match.NONE for route in app.routes):
            unknown.append(f"{page} ({', '.join(sorted(sources))})")
    assert not unknown, "documented pages the cabinet does not have: " + "; ".join(unknown)

    plain = [
        page
        for page in documented_pages()
        if not PLACEHOLDER.search(page) and not page.startswith(FILES)
    ]
    opened = 0
    for email in ("admin@demo.pl", "client@demo.pl"):
        with TestClient(app) as web:
            form = web.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token
            signed_in = web.post(
                "/login",
                data={"email": email, "password": logins[email], "csrf_token": token.group(1)},
            )
            assert signed_in.url.path == "/", email
            for page in plain:
                if (email == "client@demo.pl") != page.startswith(CLIENT_PAGES):
                    continue
                answer = web.get(page)
                assert answer.status_code == 200, (email, page, answer.status_code)
                assert answer.url.path != "/login", (email, page)
                opened += 1
    assert opened >= 25  # the guides name that many pages without placeholders


def test_every_documented_command_exists() -> None:
    cli = make_cli()
    runner = CliRunner()
    missing = []
    for command in sorted(documented_commands()):
        result = runner.invoke(cli, [*command, "--help"])
        if result.exit_code != 0:
            missing.append(" ".join(command))
    assert not missing, "documented commands that do not exist: " + ", ".join(missing)
