"""``python -m bench load``: many concurrent people using the cabinet at once.

Each virtual person arrives at a random moment of the ramp (``--ramp``, 150 s) and signs in with
the login form; when the measured window opens (``--seconds`` long) everyone is signed in, as in a
working day, and each opens the home page, the documents list, a search, one of its documents and
the chat, creates a VAT invoice draft, issues it and writes in the chat (the writes through the
JSON API with the person's token), with a pause of ``--think`` seconds (1-5) between clicks, as a
person reading a page does: 200 people offer about 67 requests a second. The cabinet runs as in
production: ``cabinet serve`` processes (each person keeps to one of them, as behind a load
balancer with sticky sessions) and one ``cabinet worker``, on SQLite or on PostgreSQL (a
throwaway database on the server given).

Reported: requests and errors (any 5xx, a refused connection, or an answer other than the one
expected), latency percentiles for pages and for API writes, and each web process's resident
memory at the end, with its request count; each process's share of a CPU over the window (the
servers', the worker's and this generator's own, which shares the machine), and the servers' own
page latency from their ``/metrics`` histogram (from the request's first byte to the last of the
answer, so the generator's own delays are not in it). The goal (issue #12): p95 of pages under
300 ms with 200 people on this 2-core machine, under 150 MB per web process after 10,000
requests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack, suppress
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DOC_LINK = re.compile(r'href="/documents/(\d+)"')
PASSWORD = "load-test-password-7"
BUYER = {"name": "Odbiorca Sp. z o.o.", "nip": "7740001454"}
STARTUP_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cabinet() -> list[str]:
    script = Path(sys.executable).with_name("cabinet")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cabinet_core.cli"]


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: Routes the people open as pages (the server's histogram is by route template).
PAGE_ROUTES = ("/", "/documents", "/documents/{document_id}", "/chat", "/chat/{client_id}")


def server_latency(port: int) -> dict[str, Any]:
    """The server's own view of page latency: its request-duration histogram (``/metrics``,
    open to loopback) for the page routes, as the share answered within each bucket and p50/p95
    interpolated inside the bucket they fall in. Queueing in the kernel before the server
    accepts a connection is not in it; everything from the request's first byte is."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    buckets: dict[float, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        if family.name != "cabinet_http_request_duration_seconds":
            continue
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_bucket")
                and labels.get("method") == "GET"
                and labels.get("route") in PAGE_ROUTES
            ):
                buckets[float(labels["le"])] += sample.value
    return _histogram_summary(dict(buckets))


def _histogram_summary(buckets: dict[float, float]) -> dict[str, Any]:
    if not buckets:
        return {"count": 0}
    edges = sorted(buckets)
    total = buckets[edges[-1]]
    if not total:
        return {"count": 0}

    def quantile(q: float) -> float | None:
        rank = q * total
        lower, below = 0.0, 0.0
        for edge in edges:
            if buckets[edge] >= rank:
                if edge == float("inf"):
                    return None  # beyond the last finite bucket
                inside = buckets[edge] - below
                return lower + (edge - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = edge, buckets[edge]
        return None

    p50, p95 = quantile(0.5), quantile(0.95)
    return {
        "count": int(total),
        "p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "p95_ms": None if p95 is None else round(p95 * 1000, 1),
        "within_250_ms": round(buckets.get(0.25, 0.0) / total, 3),
        "within_500_ms": round(buckets.get(0.5, 0.0) / total, 3),
    }


def prepare(env: dict[str, str], people: int, clients: int) -> list[dict[str, Any]]:
    """Migrate, then make ``clients`` clients with ``people`` users among them, each with an API
    token and a few documents to browse. Returns each person's e-mail, token and client id."""
    from argon2 import PasswordHasher
    from cabinet_core import Cabinet, Settings
    from cabinet_core.entities import Actor, Client, Document, DocumentLine, Party, Role

    settings = Settings.from_env(env)
    system = Actor.system()
    made: list[dict[str, Any]] = []
    with Cabinet(settings) as cabinet:
        cabinet.migrate()
        # The users' password hashing at production cost would only slow the set-up down.
        cabinet.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        client_rows = [
            cabinet.clients.create(system, Client(name=f"Firma {n} sp. z o.o.", email=f"f{n}@l.pl"))
            for n in range(clients)
        ]
        for n in range(people):
            client = client_rows[n % clients]
            assert client.id is not None
            user = cabinet.users.create(
                system,
                email=f"person{n}@load.pl",
                name=f"Osoba {n}",
                role=Role.CLIENT,
                client_id=client.id,
                password=PASSWORD,
            )
            assert user.id is not None
            _, secret = cabinet.tokens.create(Actor.of(user), name="load")
            made.append({"email": user.email, "token": secret, "client_id": client.id})
        for client in client_rows:
            assert client.id is not None
            for k in range(5):
                cabinet.documents.create(
                    system,
                    Document(
                        client_id=client.id,
                        doc_type="vat_invoice",
                        issue_date=date.today(),
                        buyer=Party(**BUYER),
                        lines=(
                            DocumentLine(
                                name=f"Usługa {k}", unit_price=Decimal("100"), vat_rate="23"
                            ),
                        ),
                    ),
                )
    return made


class Recorder:
    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.requests = 0

    async def call(
        self, kind: str, send: Any, expected: tuple[int, ...] = (200,)
    ) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            answer: httpx.Response = await send
        except httpx.HTTPError as exc:
            self.errors.append(f"{kind}: {type(exc).__name__} {exc}")
            return None
        self.requests += 1
        self.seconds[kind].append(time.perf_counter() - start)
        if answer.status_code not in expected:
            self.errors.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
            return None
        return answer


async def person(
    base: str,
    who: dict[str, Any],
    window: tuple[float, float],
    think: tuple[float, float],
    rec: Recorder,
) -> None:
    """One person: arrives at a random moment before the measured window opens and signs in,
    then browses from the window's start to its end (``time.monotonic`` values)."""
    rng = random.Random(who["email"])
    measure_from, deadline = window
    # A connection idle longer than uvicorn's keep-alive (5 s) may be closed by the server just
    # as it is reused, which a browser retries and httpx reports: keep idle ones for 1 s only.
    limits = httpx.Limits(keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as web:
        # People do not all arrive at once: sign-ins are spread over the ramp before the window.
        ramp = max(0.0, measure_from - time.monotonic())
        await asyncio.sleep(rng.uniform(0, ramp))
        form = await rec.call("login_page", web.get("/login"))
        if form is None:
            return
        token = CSRF.search(form.text)
        assert token, "no CSRF token on /login"
        login = web.post(
            "/login",
            data={"email": who["email"], "password": PASSWORD, "csrf_token": token.group(1)},
        )
        if await rec.call("login", login, expected=(303, 302)) is None:
            return
        api = {"Authorization": f"Bearer {who['token']}"}
        documents: list[str] = []
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        # Everyone's first click does not land in the same instant when the window opens.
        await asyncio.sleep(rng.uniform(0, think[1]))
        while time.monotonic() < deadline:
            action = rng.choices(
                ["home", "list", "search", "document", "chat_page", "create", "chat"],
                weights=[3, 3, 2, 3, 1, 1, 1],
            )[0]
            if action == "home":
                await rec.call("page", web.get("/"))
            elif action == "list":
                page = await rec.call("page", web.get("/documents"))
                if page is not None:
                    documents = DOC_LINK.findall(page.text) or documents
            elif action == "search":
                await rec.call("page", web.get("/documents", params={"q": "Odbiorca"}))
            elif action == "document" and documents:
                await rec.call("page", web.get(f"/documents/{rng.choice(documents)}"))
            elif action == "chat_page":
                await rec.call("page", web.get("/chat", follow_redirects=True))
            elif action == "create":
                draft = await rec.call(
                    "api_write",
                    web.post(
                        "/api/v1/documents",
                        headers=api,
                        json={
                            "doc_type": "vat_invoice",
                            "issue_date": date.today().isoformat(),
                            "buyer": BUYER,
                            "lines": [
                                {
                                    "name": "Doradztwo",
                                    "quantity": "2",
                                    "unit_price": "450.00",
                                    "vat_rate": "23",
                                }
                            ],
                        },
                    ),
                    expected=(201,),
                )
                if draft is not None:
                    doc_id = draft.json()["id"]
                    await rec.call(
                        "api_write",
                        web.post(f"/api/v1/documents/{doc_id}/transitions/issue", headers=api),
                    )
            elif action == "chat":
                await rec.call(
                    "api_write",
                    web.post(
                        "/api/v1/chat",
                        headers=api,
                        json={"body": f"Pytanie {rng.randint(1, 10**6)}"},
                    ),
                    expected=(201,),
                )
            await asyncio.sleep(rng.uniform(*think))


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"count": len(values)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "count": len(values),
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def _wait_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace")[-2000:])
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"cabinet serve on {port} did not start")


def run_load(
    *,
    database: str,
    processes: int,
    people: int,
    clients: int,
    seconds: float,
    think: tuple[float, float],
    postgres_url: str,
    ramp: float = 10.0,
) -> dict[str, Any]:
    """Serve, sign ``people`` in over ``ramp`` seconds, then measure ``seconds`` of browsing."""
    work = Path(tempfile.mkdtemp(prefix="cabinet-load-"))
    env = {
        **os.environ,
        "CABINET_DATA_DIR": str(work),
        "CABINET_SECRET_KEY": "load-" + "k" * 40,
        "CABINET_MAILER": "folder",
        "CABINET_RATE_PROVIDER": "offline",
        "PYTHONUNBUFFERED": "1",
    }
    database_name = f"cabinet_load_{os.getpid()}"
    admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    if database == "postgresql":
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database_name}"')
            conn.execute(f'CREATE DATABASE "{database_name}"')
        env["CABINET_DATABASE_URL"] = postgres_url.rsplit("/", 1)[0] + "/" + database_name
    try:
        roster = prepare(env, people, clients)
        with ExitStack() as stack:
            servers: list[tuple[int, subprocess.Popen[bytes]]] = []
            for index in range(processes):
                port = _free_port()
                log = work / f"serve-{index}.log"
                handle = stack.enter_context(open(log, "wb"))
                process = subprocess.Popen(
                    [*_cabinet(), "serve", "--port", str(port)],
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                )
                stack.callback(_stop, process)
                servers.append((port, process))
                _wait_serving(port, process, log)
            worker_log = stack.enter_context(open(work / "worker.log", "wb"))
            worker = subprocess.Popen(
                [*_cabinet(), "worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT
            )
            stack.callback(_stop, worker)
            recorders = [Recorder() for _ in servers]

            pids = {f"web-{n}": p.pid for n, (_, p) in enumerate(servers)}
            pids["worker"] = worker.pid
            cpu_before: dict[str, float] = {}
            load_before: list[float] = []

            async def everyone() -> None:
                measure_from = time.monotonic() + ramp
                window = (measure_from, measure_from + seconds)
                people = asyncio.gather(
                    *(
                        person(
                            f"http://127.0.0.1:{servers[n % len(servers)][0]}",
                            who,
                            window,
                            think,
                            recorders[n % len(servers)],
                        )
                        for n, who in enumerate(roster)
                    )
                )
                # The CPU each process uses is counted over the measured window only.
                await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
                cpu_before.update({name: _cpu_seconds(pid) for name, pid in pids.items()})
                cpu_before["generator"] = _own_cpu_seconds()
                load_before.append(os.getloadavg()[0])
                await people

            asyncio.run(everyone())
            elapsed = seconds
            cpu = {
                name: round((_cpu_seconds(pid) - cpu_before[name]) / elapsed, 2)
                for name, pid in pids.items()
            }
            cpu["generator"] = round((_own_cpu_seconds() - cpu_before["generator"]) / elapsed, 2)
            in_server = [server_latency(port) for port, _ in servers]
            memory = [
                {"pid": p.pid, "rss_mb": round(_rss_mb(p.pid), 1), "requests": r.requests}
                for (_, p), r in zip(servers, recorders, strict=True)
            ]
            # What the servers said, for a run with errors (the work folder is removed below).
            logs = {
                path.name: path.read_text(errors="replace")[-3000:]
                for path in sorted(work.glob("*.log"))
            }
    finally:
        if database == "postgresql":
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)
    seconds_by_kind: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    for rec in recorders:
        errors += rec.errors
        for kind, values in rec.seconds.items():
            seconds_by_kind[kind] += values
    requests = len(seconds_by_kind["page"]) + len(seconds_by_kind["api_write"])
    return {
        "name": "load",
        "database": database,
        "web_processes": processes,
        "people": people,
        "seconds": round(elapsed, 1),
        "ramp_seconds": ramp,
        "think_seconds": list(think),
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 1),
        "errors": len(errors),
        "first_errors": errors[:5],
        "logs": logs if errors else {},
        "pages": _percentiles(seconds_by_kind["page"]),
        "api_writes": _percentiles(seconds_by_kind["api_write"]),
        "logins": _percentiles(seconds_by_kind["login"]),
        "login_pages": _percentiles(seconds_by_kind["login_page"]),
        "server_pages": in_server,
        "cpu_cores_used": cpu,
        "web_memory": memory,
        "load_average_1min": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
    }


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=20)


def main(argv: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument(
        "--ramp",
        type=float,
        default=150.0,
        help="seconds over which the people arrive and sign in, before the measured window",
    )
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 5.0), metavar=("MIN", "MAX"))
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "CABINET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args(argv)
    runs = [("sqlite", 1), ("postgresql", 2)]
    if args.database != "both":
        runs = [run for run in runs if run[0] == args.database]
    results = []
    for database, processes in runs:
        result = run_load(
            database=database,
            processes=processes,
            people=args.people,
            clients=args.clients,
            seconds=args.seconds,
            think=tuple(args.think),
            postgres_url=args.postgres_url,
            ramp=args.ramp,
        )
        print(result, flush=True)
        results.append(result)
    return results
