"""``python -m bench pages``: what one request of each page the load benchmark opens costs one
web process: CPU milliseconds, the requests a second that makes on one core, and SQL statements.

The app runs in this process on SQLite (the load benchmark's people, clients and documents), one
client's user signed in through the login form. Each page is requested ``--calls`` times in
``--rounds`` rounds; its cost is the median CPU time per request (``time.process_time``, which the
other processes of a shared machine move far less than wall time). Threadpool hops are run inline,
so the whole request is on this thread: ``--profile PAGE`` writes a pyinstrument report of that
page to the temporary folder (``pip install pyinstrument``), ``--sql PAGE`` prints its statements.

Instructions, which no other process can move, are counted under callgrind::

    mkdir -p /tmp/cg && CABINET_BENCH_CALLGRIND=/tmp/cg valgrind --tool=callgrind \
        --instr-atstart=no --callgrind-out-file=/tmp/cg/cg.%p \
        .venv/bin/python -m bench pages --calls 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx

from bench.load import CSRF, DOC_LINK, PASSWORD, prepare

PAGES: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "home": ("GET", "/", None),
    "list": ("GET", "/documents", None),
    "search": ("GET", "/documents?q=Odbiorca", None),
    "document": ("GET", "/documents/{document}", None),
    "chat": ("GET", "/chat", None),
    "api_list": ("GET", "/api/v1/documents", None),
}


class Instructions:
    """Instructions counted by callgrind for a stretch of this process's work: the process runs
    under ``valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=DIR/cg.%p`` and
    ``CABINET_BENCH_CALLGRIND=DIR`` says where the dumps go. The count is the machine's load
    cannot move, unlike any time."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.pid = str(os.getpid())
        self._control("-i", "on")
        self.baseline = 0
        self.zero()
        self.baseline = self.dump_count()

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, self.pid], capture_output=True, check=True)

    def zero(self) -> None:
        """Start counting from here."""
        self._control("-z")

    def dump_count(self) -> int:
        """Instructions since :meth:`zero` (less what zeroing and dumping cost themselves)."""
        before = set(self.folder.glob(f"cg.{self.pid}.*"))
        self._control("-d")
        (dump,) = set(self.folder.glob(f"cg.{self.pid}.*")) - before
        for line in dump.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1]) - self.baseline
        raise RuntimeError(f"no summary in {dump}")


async def _inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
    return func(*args)


def run(
    calls: int, rounds: int, profile: str | None, show_sql: str | None = None
) -> list[dict[str, Any]]:
    anyio.to_thread.run_sync = _inline  # type: ignore[assignment]
    from cabinet_web import blocking

    blocking.run_blocking = _inline  # type: ignore[assignment]
    import sqlalchemy as sa
    from cabinet_core import Cabinet, Settings
    from cabinet_web.app import create_app

    work = Path(tempfile.mkdtemp(prefix="cabinet-pages-"))
    env = {
        **os.environ,
        "CABINET_DATA_DIR": str(work),
        "CABINET_SECRET_KEY": "pages-" + "k" * 40,
        "CABINET_MAILER": "folder",
        "CABINET_RATE_PROVIDER": "offline",
    }
    env.pop("CABINET_DATABASE_URL", None)
    try:
        roster = prepare(env, 10, 5)
        cabinet = Cabinet(Settings.from_env(env))
        statements: list[str] = []

        @sa.event.listens_for(cabinet.store.engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        app = create_app(cabinet)
        measuring = _measure(app, roster[0], calls, rounds, profile, statements, show_sql)
        results = asyncio.run(measuring)
        cabinet.close()
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _measure(
    app: Any,
    who: dict[str, Any],
    calls: int,
    rounds: int,
    profile: str | None,
    statements: list[str],
    show_sql: str | None,
) -> list[dict[str, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cabinet.test") as web:
        form = await web.get("/login")
        token = CSRF.search(form.text)
        assert token
        signed = await web.post(
            "/login",
            data={"email": who["email"], "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert signed.status_code in (302, 303), signed.status_code
        listing = await web.get("/documents")
        document = DOC_LINK.findall(listing.text)[0]
        api = {"Authorization": f"Bearer {who['token']}"}
        results = []
        folder = os.environ.get("CABINET_BENCH_CALLGRIND")
        instructions = Instructions(folder) if folder else None
        for name, (method, path, _) in PAGES.items():
            url = path.format(document=document)
            headers = api if url.startswith("/api/") else None

            async def once(
                url: str = url, headers: dict[str, str] | None = headers, method: str = method
            ) -> None:
                answer = await web.request(method, url, headers=headers, follow_redirects=True)
                assert answer.status_code == 200, (url, answer.status_code)

            for _ in range(3):  # warm: templates compiled, caches filled
                await once()
            if profile == name:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                profiler.start()
                for _ in range(calls):
                    await once()
                profiler.stop()
                report = Path(tempfile.gettempdir()) / f"cabinet-profile-{name}.html"
                report.write_text(profiler.output_html())
                print(f"pyinstrument report: {report}")
                print(profiler.output_text(unicode=True, color=False, show_all=False))
            before = len(statements)
            await once()
            queries = len(statements) - before
            if show_sql == name:
                for statement in statements[before:]:
                    print(" ".join(statement.split())[:240])
            if instructions is not None:
                instructions.zero()
                for _ in range(calls):
                    await once()
                results.append(
                    {
                        "name": f"page {name}",
                        "path": path,
                        "instructions_per_request": instructions.dump_count() // calls,
                        "sql_statements": queries,
                    }
                )
                print(results[-1], flush=True)
                continue
            samples = []
            for _ in range(rounds):
                start = time.process_time()
                for _ in range(calls):
                    await once()
                samples.append((time.process_time() - start) / calls)
            cpu = statistics.median(samples)
            results.append(
                {
                    "name": f"page {name}",
                    "path": path,
                    "cpu_ms": round(cpu * 1000, 2),
                    "requests_per_cpu_second": round(1 / cpu, 1),
                    "sql_statements": queries,
                }
            )
            print(results[-1], flush=True)
        return results


def main(argv: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench pages", description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=sorted(PAGES), default=None)
    parser.add_argument(
        "--sql", choices=sorted(PAGES), default=None, help="print the statements of one request"
    )
    args = parser.parse_args(argv)
    return run(args.calls, args.rounds, args.profile, args.sql)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
