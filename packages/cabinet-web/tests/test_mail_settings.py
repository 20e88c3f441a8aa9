"""``/settings/mail``: SMTP settings in the database, the environment's precedence, the password
never shown nor audited, and a test e-mail queued through the outbox and sent by the worker.
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.audit import AuditFilter
from cabinet_core.entities import Actor, Role
from cabinet_core.settings import SmtpSettings
from cabinet_core.worker import Worker
from cabinet_web.app import create_app
from starlette.testclient import TestClient
from web_support import PASSWORD, World, csrf_of, login, make_settings

SECRET = "s3cret-Pa55"


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def _save(web: TestClient, **values: str) -> Any:
    data = {
        "host": "smtp.example.pl",
        "port": "587",
        "starttls": "1",
        "username": "biuro",
        "password": SECRET,
        "sender": "biuro@example.pl",
        **values,
        "csrf_token": csrf_of(web, "/settings/mail"),
    }
    return web.post("/settings/mail", data=data)


def test_admin_saves_smtp_settings_and_the_password_stays_secret(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    assert "/settings/mail" in web.get("/settings").text
    assert 'data-test="password-state">(nie ustawione)' in web.get("/settings/mail").text
    saved = _save(web)
    assert saved.status_code == 200 and saved.url.path == "/settings/mail"
    assert SECRET not in saved.text
    assert 'data-test="password-state">(ustawione)' in saved.text
    smtp = cabinet.mail_settings.effective_smtp()
    assert (smtp.host, smtp.port, smtp.starttls, smtp.password) == (
        "smtp.example.pl",
        587,
        True,
        SECRET,
    )
    # Saving again without a password keeps it.
    assert _save(web, password="", port="2525").status_code == 200
    assert cabinet.mail_settings.effective_smtp().password == SECRET
    page = cabinet.audit.search(Actor.of(world.admin), AuditFilter(action="settings.set"))
    assert page.total == 2
    for record in page.records:
        assert SECRET not in repr(record.entry.detail)
    assert page.records[-1].entry.detail["password_changed"] is True
    assert page.records[0].entry.detail["password_changed"] is False


def test_bad_smtp_settings_are_field_errors(web: TestClient, world: World) -> None:
    login(web, world.admin.email)
    refused = _save(web, host=" ", port="70000", ssl="1", sender="nobody")
    assert refused.status_code == 422
    for field in ("host", "port", "ssl", "sender"):
        assert f'data-error-for="{field}"' in refused.text
    login(web, world.manager.email)
    assert web.get("/settings/mail").status_code == 403


def test_test_email_is_queued_and_its_result_shown(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    queued = web.post(
        "/settings/mail/test",
        data={"to": "kontrola@example.pl", "csrf_token": csrf_of(web, "/settings/mail")},
    )
    assert queued.status_code == 200
    assert 'data-state="queued"' in queued.text
    tests = cabinet.mail_settings.tests(Actor.of(world.admin))
    assert [m.topic for m in tests] == ["mail.test"]
    Worker(cabinet).run_once()
    assert 'data-state="sent"' in web.get("/settings/mail").text
    mails = list(cabinet.settings.mail_dir.glob("*.eml"))
    assert len(mails) == 1
    text = mails[0].read_text(encoding="utf-8")
    assert "kontrola@example.pl" in text
    bad = web.post(
        "/settings/mail/test",
        data={"to": "nie-adres", "csrf_token": csrf_of(web, "/settings/mail")},
    )
    assert bad.status_code == 422 and 'data-error-for="to"' in bad.text
    actions = cabinet.audit.search(Actor.of(world.admin), AuditFilter(action="mail.test"))
    assert actions.total == 1


def test_the_environment_wins_and_the_page_says_so(tmp_path: Path) -> None:
    # As Settings.from_env builds them: the value in ``smtp`` and the variable remembered.
    settings = make_settings(
        tmp_path,
        environment={"CABINET_SMTP_HOST": "mx.operator.pl"},
        smtp=SmtpSettings(host="mx.operator.pl"),
    )
    with Cabinet(settings, load_entrypoints=False) as cab:
        cab.migrate()
        admin = cab.users.create(
            Actor.system(),
            email="a@test.pl",
            name="A",
            role=Role.ADMIN,
            client_id=None,
            password=PASSWORD,
        )
        with TestClient(create_app(cab)) as web:
            login(web, admin.email)
            assert "CABINET_SMTP_HOST" in web.get("/settings/mail").text
            assert _save(web).status_code == 200
            smtp = cab.mail_settings.effective_smtp()
            assert smtp.host == "mx.operator.pl"  # the environment's
            assert smtp.port == 587  # the page's
