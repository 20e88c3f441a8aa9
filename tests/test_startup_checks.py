"""``cabinet serve``, ``worker`` and ``demo`` check their configuration at start: a wrong setting,
a missing credential, an unreachable database or a busy port ends the command with ONE line on
stderr naming the setting and a non-zero exit status, before anything is printed as ready
(docs/configuration.md#checked-at-start). Run as real processes, with every installed plugin."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import attrs
import pytest

EXIT_CONFIGURATION = 78
EXIT_UNAVAILABLE = 69


@attrs.frozen
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


Runner = Callable[..., Run]


@pytest.fixture
def cabinet(tmp_path: Path) -> Runner:
    """Runs ``cabinet ARGS`` with a clean ``CABINET_*`` environment plus ``env``."""
    base = {name: value for name, value in os.environ.items() if not name.startswith("CABINET_")}
    base["CABINET_DATA_DIR"] = str(tmp_path / "data")
    base.pop("PROMETHEUS_MULTIPROC_DIR", None)

    def run(*args: str, env: Mapping[str, str] | None = None, timeout: float = 180) -> Run:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", "from cabinet_core.cli import main; main()", *args],
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    return run


def one_line(run: Run) -> str:
    """The run's only stderr line (asserting it is the only one and there is no traceback)."""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    return lines[0]


def test_worker_with_an_unknown_mailer(cabinet: Runner) -> None:
    run = cabinet("worker", env={"CABINET_MAILER": "smpt"})
    assert run.code == EXIT_CONFIGURATION
    assert one_line(run) == (
        "cabinet: CABINET_MAILER: no mailer named 'smpt' is installed (known: folder, smtp)"
    )
    assert run.stdout == ""


def test_worker_with_bitrix24_but_no_credentials_stops_at_once(cabinet: Runner) -> None:
    """It used to print a traceback every 1.6 s; now it stops with the one line."""
    run = cabinet("worker", env={"CABINET_CRM_BACKENDS": "bitrix24"}, timeout=120)
    assert run.code == EXIT_CONFIGURATION
    line = one_line(run)
    assert line.startswith("cabinet: CABINET_BITRIX_WEBHOOK_URL: is not set;")
    assert "delivering" not in run.stdout


def test_serve_with_an_unknown_crm_backend(cabinet: Runner) -> None:
    run = cabinet("serve", "--port", "0", env={"CABINET_CRM_BACKENDS": "bitrix,null"})
    assert run.code == EXIT_CONFIGURATION
    line = one_line(run)
    assert line.startswith("cabinet: CABINET_CRM_BACKENDS: no CRM backend named 'bitrix'")
    assert "bitrix24" in line  # the known names are listed
    assert run.stdout == ""


def test_a_malformed_number(cabinet: Runner) -> None:
    run = cabinet("worker", "--once", env={"CABINET_SMTP_PORT": "twenty-five"})
    assert run.code == EXIT_CONFIGURATION
    assert one_line(run) == "cabinet: CABINET_SMTP_PORT: not a whole number: 'twenty-five'"


def test_an_unreachable_database(cabinet: Runner) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://cabinet@127.0.0.1:{port}/cabinet"
    for command in (("worker",), ("serve", "--port", "0"), ("migrate",)):
        run = cabinet(*command, env={"CABINET_DATABASE_URL": url})
        assert run.code == EXIT_UNAVAILABLE, command
        line = one_line(run)
        assert line.startswith(f"cabinet: CABINET_DATABASE_URL: cannot connect to {url}: ")
        assert run.stdout == ""


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_serve_on_a_busy_port(cabinet: Runner, busy_port: int) -> None:
    run = cabinet("serve", "--port", str(busy_port))
    assert run.code == EXIT_UNAVAILABLE
    assert one_line(run) == (
        f"cabinet: --port: cannot listen on 127.0.0.1:{busy_port}: Address already in use"
    )
    assert run.stdout == ""


def test_demo_on_a_busy_port_prints_no_logins(
    cabinet: Runner, busy_port: int, tmp_path: Path
) -> None:
    """It used to print the URL and the logins, then die."""
    run = cabinet("demo", "--port", str(busy_port), "--data-dir", str(tmp_path / "demo"))
    assert run.code == EXIT_UNAVAILABLE
    assert one_line(run) == (
        f"cabinet: --port: cannot listen on 127.0.0.1:{busy_port}: Address already in use"
    )
    assert run.stdout == ""


@pytest.mark.slow
def test_serve_and_worker_run_ready_with_json_logs(tmp_path: Path) -> None:
    """A served cabinet answers the probes, becomes ready once a worker beats, and logs JSON
    lines with the request id it was given."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {name: value for name, value in os.environ.items() if not name.startswith("CABINET_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(CABINET_DATA_DIR=str(tmp_path / "data"), CABINET_LOG_FORMAT="json")
    command = [sys.executable, "-c", "from cabinet_core.cli import main; main()"]
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker: subprocess.Popen[str] | None = None
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "cabinet serve exited"
            try:
                health = urllib.request.urlopen(
                    urllib.request.Request(f"{base}/healthz", headers={"X-Request-ID": "probe-1"})
                )
                break
            except OSError:
                assert time.monotonic() < deadline, "cabinet serve did not answer"
                time.sleep(0.3)
        with health:
            assert json.load(health) == {"status": "ok"}
            assert health.headers["X-Request-ID"] == "probe-1"
        with pytest.raises(urllib.error.HTTPError) as unready:
            urllib.request.urlopen(f"{base}/readyz")
        with unready.value:
            assert unready.value.code == 503
            assert json.load(unready.value)["problems"] == [
                "worker: no worker has recorded a heartbeat"
            ]
        worker = subprocess.Popen(
            [*command, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        while True:
            assert worker.poll() is None, "cabinet worker exited"
            try:
                ready = urllib.request.urlopen(f"{base}/readyz")
                break
            except urllib.error.HTTPError as not_yet:
                not_yet.close()
                assert time.monotonic() < deadline + 60, "the worker never made it ready"
                time.sleep(0.5)
        with ready:
            assert json.load(ready)["status"] == "ready"
        with urllib.request.urlopen(
            urllib.request.Request(f"{base}/login", headers={"X-Request-ID": "login-7"})
        ) as page:
            assert page.status == 200
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
        _, log = server.communicate(timeout=30)
        if worker is not None:
            worker.communicate(timeout=30)
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    access = [r for r in records if r["logger"] == "cabinet_web.access"]
    assert {"message": access[-1]["message"].rsplit(" ", 2)[0], "id": access[-1]["request_id"]} == {
        "message": "GET /login 200",
        "id": "login-7",
    }
    assert all(r["time"].endswith("Z") for r in records)
