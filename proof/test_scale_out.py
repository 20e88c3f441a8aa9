"""The topology of deploy/compose.yaml and the systemd units, without containers: one
PostgreSQL database migrated once, two ``cabinet serve`` processes with the same secret key and
data directory, and a worker. A user signs in through one web process and is signed in on the
other; signing out on the second ends the session on the first (sessions live in the database).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from cabinet_core.testing.databases import (
    in_ci,
    postgres_server,
    postgres_unreachable,
    throwaway_database,
)

pytestmark = pytest.mark.slow

CABINET = str(Path(sys.executable).with_name("cabinet"))
EMAIL = "anna@zabka.example"
PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def environ(tmp_path: Path) -> Iterator[dict[str, str]]:
    server = postgres_server()
    problem = postgres_unreachable(server)
    if problem is not None:
        if in_ci():
            pytest.fail(problem)
        pytest.skip(problem)
    with throwaway_database(server, prefix="cabinet_scale") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CABINET_")}
        env.update(
            {
                "CABINET_DATABASE_URL": url,
                "CABINET_DATA_DIR": str(tmp_path / "shared"),
                "CABINET_SECRET_KEY": "one-key-for-every-web-process-" + "k" * 20,
            }
        )
        yield env


def _cabinet(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [CABINET, *args], env=env, input=stdin, capture_output=True, text=True, check=True
    ).stdout


@contextmanager
def _process(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen([CABINET, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"{url}/login", timeout=2)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log.read_text()) from None
            time.sleep(0.3)


def test_two_web_processes_and_a_worker_share_one_cabinet(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    assert "database is up to date: postgresql" in _cabinet(environ, "migrate")
    _cabinet(environ, "clients", "create", "--name", "Żabka Sp. z o.o.", "--nip", "5260250274")
    _cabinet(
        environ,
        "users",
        "create",
        "--email",
        EMAIL,
        "--role",
        "client",
        "--client-id",
        "1",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    ports = [_free_port(), _free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    with ExitStack() as running:
        for port, url in zip(ports, urls, strict=True):
            log = tmp_path / f"web-{port}.log"
            web = running.enter_context(
                _process(environ, log, "serve", "--host", "127.0.0.1", "--port", str(port))
            )
            _wait(url, web, log)
        worker = running.enter_context(_process(environ, tmp_path / "worker.log", "worker"))

        first = running.enter_context(httpx.Client(base_url=urls[0], timeout=20))
        form = first.get("/login").text
        token = CSRF.findall(form)[0]  # the sign-in form and the language switch share it
        signed_in = first.post(
            "/login", data={"csrf_token": token, "next": "/", "email": EMAIL, "password": PASSWORD}
        )
        assert signed_in.status_code == 303, signed_in.text

        # The second process accepts the first one's cookie: same key, sessions in the database.
        second = running.enter_context(
            httpx.Client(base_url=urls[1], timeout=20, cookies=first.cookies)
        )
        home = second.get("/")
        assert home.status_code == 200
        assert "Żabka Sp. z o.o." in home.text

        # Signing out through the second ends the session the first one also knows.
        token = CSRF.findall(home.text)[0]  # every form on the page carries the same token
        assert second.post("/logout", data={"csrf_token": token}).status_code == 303
        after = first.get("/", follow_redirects=False)
        assert after.status_code == 303
        assert after.headers["location"].startswith("/login")
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
