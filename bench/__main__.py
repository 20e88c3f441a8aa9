"""``python -m bench [core|pdf|lists|bitrix|webhook ...]``: run benchmarks, save raw results.

With no argument the core and PDF benchmarks run; ``lists`` (the 1M-document list page, which
builds a cached database on its first run) and ``bitrix`` (5,000 documents synced to the emulator
at three portal speeds, about ten minutes) and ``webhook`` (3,000 documents delivered to a
loopback receiver) and ``reports`` (XLSX exports of 10,000 and 100,000 rows and a report's
aggregate against the bare SQL, under two minutes) run only when named, with their own options
(``python -m bench lists --help``, ``python -m bench bitrix --help``); ``vat`` (the VAT
statement of a client-month on the list database, and JPK_V7M(3) at 1,000 and 10,000 rows)
likewise, and ``ksef`` (a firm's month of sending and receiving through the KSeF emulator on
a virtual clock, and a first full sync by export; ``python -m bench ksef --help``); ``load``
(200 people browsing, searching, issuing and chatting for 5 minutes against ``cabinet serve`` on
SQLite and on two processes over PostgreSQL; ``python -m bench load --help``); ``pages`` (the
CPU time and SQL statements of one request of each page the load opens, in one process);
``bills`` (editing an early bill with 200 later drafts to recompute, ``python -m bench bills
--help``).
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str]) -> int:
    which = argv[0] if argv else "all"
    results: list[dict[str, Any]] = []
    if which in {"all", "core"}:
        from bench import core

        results += core.run(argv[1:])
    if which in {"all", "pdf"}:
        from bench import pdf

        results += pdf.run()
    if which == "lists":
        from bench import lists

        results += lists.main(argv[1:])
    if which == "bitrix":
        from bench import bitrix

        results += bitrix.main(argv[1:])
    if which == "reports":
        from bench import reports

        results += reports.main(argv[1:])
    if which == "webhook":
        from bench import webhook

        results += webhook.main(argv[1:])
    if which == "vat":
        from bench import vat

        results += vat.main(argv[1:])
    if which == "load":
        from bench import load

        results += load.main(argv[1:])
    if which == "ksef":
        from bench import ksef

        results += ksef.main(argv[1:])
    if which == "pages":
        from bench import pages

        results += pages.main(argv[1:])
    if which == "emulator":
        from bench import emulator

        results += emulator.main(argv[1:])
    if which == "bills":
        from bench import bills

        results += bills.main(argv[1:])
    known = {"all", "core", "pdf", "lists", "bitrix", "webhook", "vat", "reports", "ksef", "load"}
    if which not in known | {"emulator", "pages", "bills"}:
        print(
            f"unknown benchmark {which!r}: use core, pdf, lists, bitrix, webhook, vat, reports, "
            "ksef, load, pages, emulator or bills",
            file=sys.stderr,
        )
        return 2
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"when": stamp, "python": platform.python_version(), "results": results}
    (RESULTS / f"{which}-{stamp}.json").write_text(json.dumps(record, indent=2))
    for row in results:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
