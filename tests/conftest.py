"""Fixtures for the cross-package tests: a running ``cabinet demo`` server and Debian's Chromium."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_SECONDS = 120


@attrs.frozen
class DemoServer:
    """A ``cabinet demo`` process: its URL and the logins it printed."""

    url: str
    logins: dict[str, str]
    output: str

    def sign_in(self, page: Any, email: str, *, language: str | None = "pl") -> None:
        """Sign ``page`` in as the demo user ``email`` (:func:`sign_in_through_the_form`)."""
        sign_in_through_the_form(page, self.url, email, self.logins[email], language=language)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cabinet_command() -> list[str]:
    script = Path(sys.executable).with_name("cabinet")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from cabinet_core.cli import main; main()"]


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """``cabinet demo --port <free>`` with a temporary data directory, until the session ends."""
    data_dir = tmp_path_factory.mktemp("demo")
    port = free_port()
    log_path = data_dir / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*_cabinet_command(), "demo", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        url = _wait_until_serving(process, log_path, port)
        output = log_path.read_text(encoding="utf-8")
        logins = dict(re.findall(r"^\s+\w+\s+(\S+@demo\.pl)\s+(\S+)$", output, flags=re.M))
        yield DemoServer(url=url, logins=logins, output=output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def _wait_until_serving(process: subprocess.Popen[bytes], log_path: Path, port: int) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log_path.read_text(encoding="utf-8", errors="replace")
            pytest.fail(f"cabinet demo exited with {process.returncode}:\n{output}")
        text = log_path.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"Demo cabinet: (http://\S+)", text)
        # The port is taken before anything is printed: wait for the last login line too.
        if match and re.search(r"^\s+admin\s+admin@demo\.pl\s+\S+$", text, flags=re.M):
            url = match.group(1)
            with socket.socket() as sock:
                sock.settimeout(1)
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return url
        time.sleep(0.2)
    pytest.fail(f"cabinet demo did not serve within {STARTUP_SECONDS}s (url seen: {url})")


@pytest.fixture(scope="session")
def chromium_args() -> list[str]:
    """Launch flags that keep Chromium quiet and offline in a container."""
    return list(CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; missing it skips locally and fails on CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


def sign_in_through_the_form(
    page: Any, url: str, email: str, password: str, *, language: str | None = "pl"
) -> None:
    """Sign ``page`` in at the cabinet at ``url`` through its login form (found by field names,
    so in either language) and wait for the home page; then, unless ``language`` is None, choose
    it: the demo users keep the language they used last, and a demo server shared by the
    session may have been left in English by an earlier test."""
    from playwright.sync_api import expect

    home = url.rstrip("/") + "/"
    page.goto(f"{home}login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(home)
    if language is not None:
        page.locator(f'button[name="language"][value="{language}"]').click()
        expect(page.locator("html")).to_have_attribute("lang", language)
