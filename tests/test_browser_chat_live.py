"""End to end in a real browser, across two web processes: a client (in Polish) and its manager
(in English) chat live on PostgreSQL. Each browser talks to a different ``cabinet serve``
process; a message posted through one process reaches the other's browser through LISTEN/NOTIFY
and Server-Sent Events, without a reload. The manager's inbox counts the unread message live."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, ChatMessage, Client, Role
from cabinet_core.settings import Settings
from cabinet_core.testing import require_postgres
from cabinet_core.testing.databases import throwaway_database
from conftest import sign_in_through_the_form

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

#: The ports this test's servers may use (the machine's other test servers use other ranges).
PORTS = range(18700, 18750)
STARTUP_SECONDS = 120
PASSWORD = "Live-chat-2026!"
SECRET = "live-chat-test-secret-key"


def _ports(count: int) -> list[int]:
    found: list[int] = []
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    pytest.skip(f"no {count} free ports in {PORTS}")


def _prepare(url: str, data_dir: Path) -> tuple[int, int]:
    """A migrated database with a manager, two clients with a user each (the second with a
    long conversation already); the clients' ids."""
    settings = Settings(data_dir=data_dir, database_url=url, secret_key=SECRET)
    with Cabinet(settings) as cabinet:
        cabinet.migrate()
        system = Actor.system()
        manager = cabinet.users.create(
            system,
            email="marek@firm.example",
            name="Marek Nowak",
            role=Role.MANAGER,
            client_id=None,
            password=PASSWORD,
            language="en",
        )
        client = cabinet.clients.create(
            system,
            Client(
                name="Alfa sp. z o.o.",
                nip="5250000110",
                address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
                manager_id=manager.id,
            ),
        )
        cabinet.users.create(
            system,
            email="jan@alfa.example",
            name="Jan Kowalski",
            role=Role.CLIENT,
            client_id=client.id,
            password=PASSWORD,
            language="pl",
        )
        second = cabinet.clients.create(
            system, Client(name="Beta S.A.", nip="7790000126", manager_id=manager.id)
        )
        cabinet.users.create(
            system,
            email="ola@beta.example",
            name="Ola Wiśniewska",
            role=Role.CLIENT,
            client_id=second.id,
            password=PASSWORD,
            language="pl",
        )
        assert client.id is not None and second.id is not None
        with cabinet.store.transaction() as tx:
            for number in range(35):
                tx.add_chat_message(
                    ChatMessage(client_id=second.id, author_id=manager.id, body=f"Wpis {number}")
                )
        return client.id, second.id


def _serve(port: int, url: str, data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("cabinet")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from cabinet_core.cli import main; main()"]
    )
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "CABINET_DATABASE_URL": url,
        "CABINET_DATA_DIR": str(data_dir),
        "CABINET_SECRET_KEY": SECRET,
        # The staff here sign in with a password only (two-factor sign-in has its own test).
        "CABINET_STAFF_TWO_FACTOR": "off",
    }
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [*command, "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
        )


def _wait(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(log_path.read_text(encoding="utf-8", errors="replace"))
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"cabinet serve on {port} did not start")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this module (as ``cabinet_core.testing``'s fixture
    of the same name; a skip when the server is unreachable, a failure on CI)."""
    with throwaway_database(require_postgres(), prefix="cabinet_chat_live") as url:
        yield url


@pytest.fixture(scope="module")
def two_processes(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, tuple[int, int]]]:
    """Two ``cabinet serve`` processes on one PostgreSQL database: their URLs and the client."""
    data_dir = tmp_path_factory.mktemp("chat-live")
    client_ids = _prepare(postgres_url, data_dir)
    ports = _ports(2)
    processes = []
    try:
        for port in ports:
            log_path = data_dir / f"server-{port}.log"
            process = _serve(port, postgres_url, data_dir, log_path)
            processes.append(process)
            _wait(process, port, log_path)
        yield f"http://127.0.0.1:{ports[0]}/", f"http://127.0.0.1:{ports[1]}/", client_ids
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)


def test_a_client_and_a_manager_chat_live_through_two_processes(
    two_processes: tuple[str, str, tuple[int, int]],
    chromium_path: Path,
    chromium_args: list[str],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    client_url, manager_url, (client_id, _) = two_processes
    assert client_url != manager_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            client_page = browser.new_context(locale="pl-PL").new_page()
            _sign_in(client_page, client_url, "jan@alfa.example")

            manager_page = browser.new_context(locale="en-GB").new_page()
            _sign_in(manager_page, manager_url, "marek@firm.example", language="en")
            expect(manager_page).to_have_url(manager_url)

            # The manager waits in the inbox (process B); the client opens its chat (process A).
            manager_page.get_by_role("link", name="Chat", exact=True).click()
            expect(manager_page.get_by_role("heading", level=1)).to_have_text("Chat")
            inbox_row = manager_page.locator(f'#chat-inbox tr[data-client="{client_id}"]')
            # Beta's long conversation is on top (it has messages), Alfa below it, silent.
            expect(manager_page.locator("#chat-inbox tbody tr").first).to_contain_text("Beta")
            expect(inbox_row).to_contain_text("No messages yet.")

            client_page.get_by_role("link", name="Czat", exact=True).click()
            expect(client_page.get_by_role("heading", level=1)).to_have_text("Czat z opiekunem")
            expect(client_page.locator('[data-test="chat-manager"]')).to_have_text(
                "Twój opiekun: Marek Nowak"
            )
            expect(client_page.locator("#chat-status")).to_have_text("Na żywo")

            client_page.get_by_label("Wiadomość").fill("Dzień dobry, czy faktura doszła?")
            client_page.get_by_role("button", name="Wyślij").click()
            expect(client_page.locator(".chat-message.mine .body")).to_have_text(
                "Dzień dobry, czy faktura doszła?"
            )
            expect(client_page.get_by_label("Wiadomość")).to_have_value("")

            # The inbox in the other process updates without a reload, Alfa moving to the top.
            expect(inbox_row.locator(".badge")).to_have_text("1")
            expect(manager_page.locator("#chat-inbox tbody tr").first).to_contain_text("Alfa")
            expect(inbox_row).to_contain_text("Dzień dobry, czy faktura doszła?")

            inbox_row.get_by_role("link", name="Alfa sp. z o.o.").click()
            expect(manager_page.get_by_role("heading", level=1)).to_have_text(
                "Chat with Alfa sp. z o.o."
            )
            expect(manager_page.locator("#chat-status")).to_have_text("Live")
            first = manager_page.locator(".chat-message").first
            expect(first.locator(".author")).to_have_text("Jan Kowalski")

            manager_page.get_by_label("Message").fill("Good morning, yes, it arrived.")
            manager_page.get_by_role("button", name="Send").click()

            # The reply reaches the client's page in the other process, under the manager's name.
            reply = client_page.locator(".chat-message:not(.mine)")
            expect(reply.locator(".body")).to_have_text("Good morning, yes, it arrived.")
            expect(reply.locator(".author")).to_have_text("Marek Nowak")

            # And once more the other way, while both pages stay open.
            client_page.get_by_label("Wiadomość").fill("Dziękuję!")
            client_page.get_by_role("button", name="Wyślij").click()
            expect(manager_page.locator(".chat-message:not(.mine) .body")).to_have_text(
                ["Dzień dobry, czy faktura doszła?", "Dziękuję!"]
            )
            expect(manager_page.locator(".chat-message")).to_have_count(3)
            expect(client_page.locator(".chat-message")).to_have_count(3)
        finally:
            browser.close()


def _sign_in(page: Any, url: str, email: str, *, language: str | None = None) -> None:
    sign_in_through_the_form(page, url, email, PASSWORD, language=language)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_older_messages_load_in_place_and_a_file_arrives_in_the_other_process(
    two_processes: tuple[str, str, tuple[int, int]],
    chromium_path: Path,
    chromium_args: list[str],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    client_url, manager_url, (_, beta_id) = two_processes
    scan = tmp_path / "skan.png"
    scan.write_bytes(PNG)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            manager_page = browser.new_context(locale="en-GB").new_page()
            _sign_in(manager_page, manager_url, "marek@firm.example", language="en")
            manager_page.goto(f"{manager_url}chat/{beta_id}")
            messages = manager_page.locator(".chat-message")
            expect(messages).to_have_count(30)
            expect(messages.first.locator(".body")).to_have_text("Wpis 5")
            address = manager_page.url
            manager_page.get_by_role("link", name="Older messages").click()
            expect(messages).to_have_count(35)
            expect(messages.first.locator(".body")).to_have_text("Wpis 0")
            expect(manager_page.get_by_role("link", name="Older messages")).to_have_count(0)
            assert manager_page.url == address  # loaded in place, no navigation
            expect(manager_page.locator("#chat-status")).to_have_text("Live")

            client_page = browser.new_context(locale="pl-PL").new_page()
            _sign_in(client_page, client_url, "ola@beta.example")
            client_page.goto(f"{client_url}chat/{beta_id}")
            client_page.get_by_label("Wiadomość").fill("Skan w załączniku")
            client_page.get_by_label("Załącz plik (PDF, JPG lub PNG)").set_input_files(str(scan))
            client_page.get_by_role("button", name="Wyślij").click()
            expect(client_page.locator(".chat-message.mine .file a")).to_have_text("skan.png")

            # The manager's page in the other process shows it at once, the file a link.
            arrived = manager_page.locator(".chat-message").last
            expect(arrived.locator(".body")).to_have_text("Skan w załączniku")
            expect(arrived.locator(".author")).to_have_text("Ola Wiśniewska")
            link = arrived.locator(".file a")
            expect(link).to_have_text("skan.png")
            href = link.get_attribute("href") or ""
            response = manager_page.request.get(manager_url.rstrip("/") + href)
            assert response.status == 200 and response.body() == PNG
        finally:
            browser.close()
