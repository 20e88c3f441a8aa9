"""Bills: what recomputing the later drafts costs when an earlier bill changes.

A client holds ``--bills`` draft bills (default 200), one a day from 2 January 2026, each near
the young person's yearly limit so every one of them depends on the ones before it. Measured on
SQLite, each as the median of ``--repeat`` edits:

* ``bill_edit_first_same_contractor``: editing the first bill of one contractor, which
  recomputes and rewrites every later draft (``--bills`` − 1 of them);
* ``bill_edit_last_same_contractor``: editing the last one, which rewrites none;
* ``bill_edit_first_many_contractors``: editing the first bill when every bill has its own
  contractor: the later drafts are derived again but none changes, so none is written.

``python -m bench bills [--bills N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import attrs
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client, Document, Party, Role
from cabinet_core.settings import Settings
from cabinet_core.storage import Store


def _cabinet(tmp: Path) -> tuple[Cabinet, Actor, int]:
    store = Store.from_url(f"sqlite:///{tmp / 'bench.db'}")
    store.migrate()
    cabinet = Cabinet(
        Settings(data_dir=tmp, secret_key="bench"), load_entrypoints=False, store=store
    )
    system = Actor.system()
    client = cabinet.clients.create(
        system,
        Client(
            name="Alfa sp. z o.o.",
            nip="1234563218",
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
        ),
    )
    assert client.id is not None
    user = cabinet.users.create(
        system,
        email="bench@alfa.example",
        name="Bench",
        role=Role.CLIENT,
        client_id=client.id,
        password="correct horse battery",
    )
    return cabinet, Actor.of(user), client.id


def _bill(client_id: int, day: int, contractor: str) -> Document:
    return Document(
        client_id=client_id,
        doc_type="bill",
        issue_date=date(2026, 1, 2) + timedelta(days=day),
        buyer=Party(name=contractor),
        extra={
            "contract_number": "UM/1/2026",
            "contract_date": "2026-01-01",
            "contract_kind": "zlecenie",
            "gross_amount": "1000.00",
            "under_26": True,
            "contractor_birth_date": "2004-01-01",
            "exempt_income_elsewhere": "84000.00",
        },
    )


def _edits(cabinet: Cabinet, actor: Actor, bill_id: int, repeat: int) -> float:
    """The median seconds of ``repeat`` edits of the bill's gross (alternating two amounts)."""
    times: list[float] = []
    for i in range(repeat):
        current = cabinet.documents.get(actor, bill_id)
        gross = "500.00" if i % 2 == 0 else "1000.00"
        edited = attrs.evolve(current, extra={**current.extra, "gross_amount": gross})
        start = time.perf_counter()
        cabinet.documents.update(actor, edited)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _scenario(count: int, repeat: int, *, same_contractor: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cabinet, actor, client_id = _cabinet(Path(tmp))
        ids: list[int] = []
        for day in range(count):
            name = "Jan Kowalski" if same_contractor else f"Wykonawca {day}"
            saved = cabinet.documents.create(actor, _bill(client_id, day, name))
            assert saved.id is not None
            ids.append(saved.id)
        result = {"first": _edits(cabinet, actor, ids[0], repeat)}
        if same_contractor:
            result["last"] = _edits(cabinet, actor, ids[-1], repeat)
        return result


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench bills")
    parser.add_argument("--bills", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args(argv)
    same = _scenario(options.bills, options.repeat, same_contractor=True)
    many = _scenario(options.bills, options.repeat, same_contractor=False)
    rows = [
        ("bill_edit_first_same_contractor", same["first"]),
        ("bill_edit_last_same_contractor", same["last"]),
        ("bill_edit_first_many_contractors", many["first"]),
    ]
    return [
        {"name": name, "bills": options.bills, "database": "sqlite", "median_ms": seconds * 1000}
        for name, seconds in rows
    ]
