"""The trusted-proxy setting docs/operations.md documents: ``cabinet serve`` believes a
request's ``X-Forwarded-For`` only when the request comes from an address in
``CABINET_TRUSTED_PROXIES`` (default ``127.0.0.1``).

A real ``cabinet serve`` process is asked for a password reset through the JSON API with a
forwarded address; the audit entry that request writes says which address the cabinet saw.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import free_port

CABINET = str(Path(sys.executable).with_name("cabinet"))
EMAIL = "anna.admin@example.pl"
FORWARDED = "203.0.113.7"


def _environ(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABINET_")}
    env.pop("CABINET_TRUSTED_PROXIES", None)
    env.update({"CABINET_DATA_DIR": str(data_dir), "CABINET_SECRET_KEY": "p" * 40, **extra})
    return env


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    subprocess.run(
        [CABINET, "users", "create", "--email", EMAIL, "--role", "admin"],
        input="correct-horse-battery\ncorrect-horse-battery\n",
        env=_environ(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    return tmp_path


@contextmanager
def serving(data_dir: Path, **extra: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data_dir / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [CABINET, "serve", "--port", str(port)],
        env=_environ(data_dir, **extra),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/login", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((data_dir / f"serve-{port}.log").read_text()) from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _seen_address(data_dir: Path, url: str) -> str:
    answer = httpx.post(
        f"{url}/api/v1/password/forgot",
        json={"email": EMAIL},
        headers={"X-Forwarded-For": FORWARDED},
        timeout=10,
    )
    assert answer.status_code == 202
    with sqlite3.connect(data_dir / "cabinet.sqlite3") as db:
        row = db.execute(
            "SELECT ip FROM audit_log WHERE action = 'user.request_reset' ORDER BY id DESC"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_proxy_on_this_host_is_trusted_by_default(data_dir: Path) -> None:
    with serving(data_dir) as url:
        assert _seen_address(data_dir, url) == FORWARDED


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(data_dir: Path) -> None:
    # Only 10.0.0.5 is the proxy: a request straight from 127.0.0.1 cannot choose its address.
    with serving(data_dir, CABINET_TRUSTED_PROXIES="10.0.0.5") as url:
        assert _seen_address(data_dir, url) == "127.0.0.1"
