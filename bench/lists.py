"""List benchmark: the cost-invoice list page on a database of 1,000,000 documents.

The database holds ``documents`` documents (default 1,000,000) of ~1000 clients; ``own`` of them
(default 10,000) belong to the measured client, scattered through the table the way years of
interleaved entry leave them. They are realistic: cost invoices (70 %), sales invoices and
proformas, suppliers with valid NIPs and Polish names, 1-3 lines each with totals computed by
:func:`cabinet_core.vat.compute_totals`, PLN/EUR/USD with an NBP rate, statuses and payment
states spread as in a working firm. The schema is the real one (``Cabinet.migrate()``); the rows
go in by SQLAlchemy Core ``executemany`` through :mod:`cabinet_core.storage.mapping`'s JSON
shapes (the services would take hours for a million documents). The database is built once and
cached: SQLite under ``bench/results/``, PostgreSQL as the database ``cabinet_bench_lists_<n>``
on the test server; a marker row in ``settings`` says which parameters built it.

Measured, per engine and in one run:

* ``list_page_<engine>``: ``GET /documents?doc_type=cost_invoice&search=…&status=…&currency=…``
  signed in as the client's user, through the real Starlette app (``create_app``) called
  in-process by ``httpx.AsyncClient`` over ``ASGITransport``: ``requests`` requests with varied
  searches (a word or the start of a supplier's name, a NIP typed with dashes or without, an
  invoice number, an amount typed "1 234,56") and status/currency filters; p50 and p95;
* the baseline: a bare Starlette app serving a static HTML page of the same byte size through
  the same client, timed in alternating batches with the real page;
* the SQL statements per page, counted with a ``before_cursor_execute`` listener (goal <= 5).

Goal: p95 < 50 ms on both engines; the ratio of the p95s is the figure to compare across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.entities import (
    Actor,
    Address,
    BankAccount,
    Client,
    Counterparty,
    DocumentLine,
    ExchangeRate,
    Party,
    Role,
)
from cabinet_core.settings import Settings
from cabinet_core.storage import schema as t
from cabinet_core.storage.mapping import client_values, counterparty_values, fold, json
from cabinet_core.testing.databases import (
    create_database,
    drop_database,
    postgres_server,
    postgres_unreachable,
)
from cabinet_core.vat import compute_totals
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from stdnum.pl import nip as stdnum_nip

RESULTS = Path(__file__).resolve().parent / "results"
#: Bump when the generated data changes, so cached databases are rebuilt.
DATA_VERSION = 1
MARKER = "bench.lists"
PASSWORD = "bench-lists-password-1"
EMAIL = "ksiegowa@zazolc.example"
CHUNK = 20_000


@dataclass(frozen=True)
class Size:
    documents: int = 1_000_000
    own: int = 10_000
    clients: int = 1000
    suppliers: int = 6000


# -- the data


PREFIXES = (
    "Hurtownia",
    "Przedsiębiorstwo Handlowe",
    "Zakład Usługowy",
    "Biuro Rachunkowe",
    "Drukarnia",
    "Transport",
    "Serwis",
    "Kancelaria",
    "Piekarnia",
    "Stacja Paliw",
    "Apteka",
    "Pracownia",
    "Studio",
    "Agencja",
    "Centrum",
)
CORES = (
    "Łąkowa",
    "Żurawia",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Zielińska",
    "Mazur",
    "Pol-Bud",
    "Orlen",
    "Świt",
    "Gęsia",
    "Źródło",
    "Bałtyk",
    "Tatry",
    "Wawel",
    "Odra",
    "Warta",
    "Dąbrowski",
    "Szczęsny",
    "Kaczmarek",
    "Lewandowska",
    "Wójcik",
    "Kamińska",
    "Pomorze",
    "Mazowsze",
    "Śląsk",
    "Podhale",
    "Kujawy",
    "Jantar",
    "Sokół",
)
FORMS = ("Sp. z o.o.", "S.A.", "sp.j.", "s.c.", "", "Sp. z o.o. sp.k.")
CITIES = (
    ("Warszawa", "00-"),
    ("Kraków", "30-"),
    ("Łódź", "90-"),
    ("Wrocław", "50-"),
    ("Poznań", "60-"),
    ("Gdańsk", "80-"),
    ("Szczecin", "70-"),
    ("Lublin", "20-"),
    ("Białystok", "15-"),
    ("Rzeszów", "35-"),
)
STREETS = ("Prosta", "Długa", "Kwiatowa", "Polna", "Leśna", "Słoneczna", "Krótka", "Ogrodowa")
GOODS = (
    ("Papier ksero A4, ryza", "szt.", "23", "18.90"),
    ("Toner do drukarki", "szt.", "23", "289.00"),
    ("Usługa księgowa", "usł.", "23", "850.00"),
    ("Paliwo ON", "l", "23", "6.49"),
    ("Przegląd techniczny", "usł.", "23", "149.00"),
    ("Catering — obiad", "szt.", "8", "42.50"),
    ("Nocleg hotelowy", "doba", "8", "310.00"),
    ("Książka fachowa", "szt.", "5", "89.90"),
    ("Prenumerata czasopisma", "szt.", "5", "39.00"),
    ("Przesyłka kurierska", "usł.", "23", "24.99"),
    ("Szkolenie BHP", "usł.", "zw", "400.00"),
    ("Transport towaru", "km", "23", "3.20"),
    ("Abonament telefoniczny", "mies.", "23", "99.99"),
    ("Licencja oprogramowania", "szt.", "23", "1299.00"),
    ("Naprawa klimatyzacji", "usł.", "8", "560.00"),
)
RATES = {"EUR": Decimal("4.2537"), "USD": Decimal("3.9871")}
COST_STATUSES = (("submitted", 15), ("approved", 20), ("returned", 3), ("booked", 52), ("paid", 10))
SALES_STATUSES = (("draft", 5), ("issued", 60), ("sent", 35))
CURRENCIES = (("PLN", 85), ("EUR", 10), ("USD", 5))
TYPES = (("cost_invoice", 70), ("vat_invoice", 25), ("proforma", 5))
FIRST_DAY = date(2023, 1, 1)
DAYS = (date(2026, 11, 27) - FIRST_DAY).days


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def make_nip(rng: random.Random) -> str:
    """A random NIP that passes the checksum (tax office prefix 1xx-9xx)."""
    while True:
        first = str(rng.randint(100, 999)) + "".join(str(rng.randint(0, 9)) for _ in range(6))
        # Some nine-digit starts have no check digit at all (a remainder of 10): draw again.
        for digit in "0123456789":
            if stdnum_nip.is_valid(first + digit):
                return first + digit


def make_party(rng: random.Random, name: str) -> Party:
    city, postal = rng.choice(CITIES)
    return Party(
        name=name,
        nip=make_nip(rng),
        address=Address(
            line1=f"ul. {rng.choice(STREETS)} {rng.randint(1, 120)}",
            postal_code=f"{postal}{rng.randint(1, 999):03d}",
            city=city,
        ),
    )


def supplier_names(count: int) -> list[str]:
    """``count`` distinct company names from the word lists."""
    names = [
        " ".join(part for part in (prefix, f'"{core}"', form) if part)
        for prefix, core, form in itertools.product(PREFIXES, CORES, FORMS)
    ]
    random.Random(7).shuffle(names)
    if count > len(names):
        names += [f"{name} {i}" for i, name in enumerate(names[: count - len(names)], start=2)]
    return names[:count]


@dataclass(frozen=True)
class LineSet:
    lines: tuple[DocumentLine, ...]
    totals: dict[str, Any]  # currency -> JSON totals
    columns: dict[str, tuple[Decimal, Decimal, Decimal, Decimal | None]]


def line_sets(rng: random.Random, count: int = 400) -> list[LineSet]:
    """Invoices' bodies: 1-3 lines with their totals in each currency (computed by the core)."""
    sets = []
    for _ in range(count):
        lines = tuple(
            DocumentLine(
                name=name,
                unit=unit,
                vat_rate=rate,
                quantity=Decimal(rng.choice((1, 1, 1, 2, 3, 5, 10, 40))),
                unit_price=(Decimal(price) * Decimal(rng.randint(80, 130)) / 100).quantize(
                    Decimal("0.01")
                ),
            )
            for name, unit, rate, price in rng.sample(GOODS, rng.randint(1, 3))
        )
        totals: dict[str, Any] = {}
        columns = {}
        for currency in ("PLN", "EUR", "USD"):
            rate = None
            if currency != "PLN":
                rate = ExchangeRate(
                    currency=currency,
                    rate=RATES[currency],
                    effective_date=date(2026, 11, 20),
                    table_no="226/A/NBP/2026",
                )
            computed = compute_totals(lines, currency=currency, exchange_rate=rate)
            totals[currency] = json(computed)
            columns[currency] = (computed.net, computed.vat, computed.gross, computed.vat_pln)
        sets.append(LineSet(lines=lines, totals=totals, columns=columns))
    return sets


def _client(rng: random.Random, i: int) -> Client:
    party = make_party(rng, f"Klient {i} {rng.choice(CORES)} {rng.choice(FORMS)}".strip())
    return Client(
        name=party.name,
        nip=party.nip,
        address=party.address,
        email=f"biuro{i}@klient.example",
        bank_accounts=(BankAccount(currency="PLN", iban=f"PL{rng.randint(10**25, 10**26 - 1)}"),),
    )


MEASURED = Client(
    name="Zażółć Gęślą Jaźń Sp. z o.o.",
    nip="5260250274",
    address=Address(line1="ul. Łąkowa 5", postal_code="90-001", city="Łódź"),
    email="biuro@zazolc.example",
    bank_accounts=(BankAccount(currency="PLN", iban="PL61109010140000071219812874"),),
)


def _document_rows(
    size: Size,
    rng: random.Random,
    client_ids: list[int],
    measured_id: int,
    parties: dict[int, dict[str, Any]],
    suppliers: list[tuple[Party, dict[str, Any]]],
    supplier_ids: dict[tuple[int, int], int],
    client_suppliers: dict[int, list[int]],
    bodies: list[LineSet],
) -> Iterator[tuple[dict[str, Any], tuple[DocumentLine, ...]]]:
    """Every document's row (ids 1..n in insertion order) with its lines."""
    own = set(rng.sample(range(size.documents), size.own))
    created = datetime(2023, 1, 2, 8, 0, tzinfo=UTC)
    numbers = itertools.count(1)
    for position in range(size.documents):
        client_id = measured_id if position in own else rng.choice(client_ids)
        doc_type = _weighted(rng, TYPES)
        currency = _weighted(rng, CURRENCIES)
        body = rng.choice(bodies)
        supplier_index = rng.choice(client_suppliers[client_id])
        other, other_json = suppliers[supplier_index]
        me = parties[client_id]
        issue = FIRST_DAY + timedelta(days=position * DAYS // size.documents)
        if doc_type == "cost_invoice":
            status = _weighted(rng, COST_STATUSES)
            seller, buyer = other_json, me["json"]
            number = f"FV/{rng.randint(1, 999)}/{issue.month:02d}/{issue.year}"
            series = None
            paid = status == "paid" or rng.random() < 0.6
        else:
            status = _weighted(rng, SALES_STATUSES)
            seller, buyer = me["json"], other_json
            prefix = "FV" if doc_type == "vat_invoice" else "PRO"
            number = None if status == "draft" else f"{prefix}/{next(numbers)}/{issue.year}"
            series = prefix
            paid = rng.random() < 0.7
        net, vat, gross, vat_pln = body.columns[currency]
        search = [number or ""]
        for party in (seller, buyer):
            search += [party["name"], party["nip"], party["nip"]]
        stamp = created + timedelta(minutes=position)
        rate = RATES.get(currency)
        row = {
            "id": position + 1,
            "client_id": client_id,
            "doc_type": doc_type,
            "status": status,
            "number": number,
            "series": series,
            "currency": currency,
            "language": "pl",
            "issue_date": issue,
            "sale_date": issue - timedelta(days=rng.randint(0, 3)),
            "receipt_date": issue + timedelta(days=2) if doc_type == "cost_invoice" else None,
            "due_date": issue + timedelta(days=rng.choice((7, 14, 30))),
            "payment_method": "6" if rng.random() < 0.85 else "1",
            "payment_status": "paid" if paid else "unpaid",
            "seller": seller,
            "buyer": buyer,
            "counterparty_id": supplier_ids[(client_id, supplier_index)],
            "counterparty_name": other.name,
            "counterparty_nip": other.nip,
            "search_key": fold(" ".join(part for part in search if part)),
            "bank_account": None,
            "price_mode": "net",
            "vat_method": "per_rate",
            "fx_currency": currency if rate else None,
            "fx_rate": rate,
            "fx_date": date(2026, 11, 20) if rate else None,
            "fx_table": "226/A/NBP/2026" if rate else None,
            "fx_source": "NBP" if rate else None,
            "totals": body.totals[currency],
            "net": net,
            "vat": vat,
            "gross": gross,
            "vat_pln": vat_pln,
            "template": None,
            "notes": "",
            "extra": {},
            "related_id": None,
            "created_by": None,
            "created_at": stamp,
            "updated_at": stamp,
            "version": 1,
        }
        yield row, body.lines


def _line_rows(document_id: int, lines: tuple[DocumentLine, ...]) -> Iterator[dict[str, Any]]:
    for position, line in enumerate(lines):
        yield {
            "document_id": document_id,
            "position": position,
            "name": line.name,
            "quantity": line.quantity,
            "unit": line.unit,
            "unit_price": line.unit_price,
            "vat_rate": line.vat_rate,
            "product_id": None,
            "gtu": None,
            "before": False,
            "annex15": False,
        }


def populate(cabinet: Cabinet, size: Size, *, log: Callable[[str], None]) -> None:
    """Fill a freshly migrated cabinet: clients, suppliers, the measured user, the documents."""
    rng = random.Random(2026)
    engine: sa.Engine = cabinet.store.engine  # type: ignore[attr-defined]
    now = datetime(2023, 1, 1, tzinfo=UTC)
    measured = cabinet.clients.create(Actor.system(), MEASURED)
    assert measured.id is not None
    cabinet.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    cabinet.users.create(
        Actor.system(),
        email=EMAIL,
        name="Księgowa Klienta",
        role=Role.CLIENT,
        client_id=measured.id,
        password=PASSWORD,
    )
    with engine.begin() as connection:
        others = [_client(rng, i) for i in range(1, size.clients)]
        connection.execute(
            sa.insert(t.clients), [client_values(c) | {"created_at": now} for c in others]
        )
        rows = connection.execute(
            sa.select(t.clients.c.id, t.clients.c.name, t.clients.c.nip, t.clients.c.address)
        )
        clients = {row.id: (row.name, row.nip, row.address) for row in rows}
    client_ids = sorted(cid for cid in clients if cid != measured.id)
    parties = {
        cid: {
            "json": json(Party(name=name, nip=nip, address=Address(**address))),
            "name": name,
            "nip": nip,
        }
        for cid, (name, nip, address) in clients.items()
    }
    suppliers = [
        (party := make_party(rng, name), json(party)) for name in supplier_names(size.suppliers)
    ]
    # Each client buys from 20-80 suppliers, saved as its counterparties.
    low, high = min(20, len(suppliers)), min(80, len(suppliers))
    client_suppliers = {
        cid: rng.sample(range(len(suppliers)), rng.randint(low, high)) for cid in clients
    }
    counterparties = [
        (cid, index, suppliers[index][0])
        for cid, indexes in client_suppliers.items()
        for index in indexes
    ]
    with engine.begin() as connection:
        connection.execute(
            sa.insert(t.counterparties),
            [
                counterparty_values(
                    Counterparty(
                        client_id=cid, name=party.name, nip=party.nip, address=party.address
                    )
                )
                | {"created_at": now}
                for cid, _, party in counterparties
            ],
        )
        ids = connection.execute(
            sa.select(t.counterparties.c.id).order_by(t.counterparties.c.id)
        ).scalars()
        supplier_ids = {
            (cid, index): cp_id for (cid, index, _), cp_id in zip(counterparties, ids, strict=True)
        }
    bodies = line_sets(rng)
    rows = _document_rows(
        size,
        rng,
        client_ids,
        measured.id,
        parties,
        suppliers,
        supplier_ids,
        client_suppliers,
        bodies,
    )
    started = time.perf_counter()
    done = 0
    while True:
        chunk = list(itertools.islice(rows, CHUNK))
        if not chunk:
            break
        lines = [line for row, body in chunk for line in _line_rows(row["id"], body)]
        with engine.begin() as connection:
            connection.execute(sa.insert(t.documents), [row for row, _ in chunk])
            connection.execute(sa.insert(t.document_lines), lines)
        done += len(chunk)
        if done % 100_000 < CHUNK:
            log(f"  {done:,} documents ({time.perf_counter() - started:.0f} s)")
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Explicit ids were inserted: move the sequences past them.
            for table in ("documents", "document_lines"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        connection.execute(
            sa.insert(t.settings).values(key=MARKER, value=_marker(size, measured.id))
        )
    # A database that has taken a million rows has statistics by now (autovacuum on PostgreSQL,
    # the nightly ``PRAGMA optimize`` an operator runs on SQLite): gather them.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")


def _marker(size: Size, measured_id: int) -> dict[str, Any]:
    return {
        "version": DATA_VERSION,
        "documents": size.documents,
        "own": size.own,
        "clients": size.clients,
        "measured_client": measured_id,
    }


# -- the databases


def _migrate(cabinet: Cabinet, *, log: Callable[[str], None]) -> None:
    """Bring a cached database to the current schema (new list indices included), gathering
    statistics again when a migration ran."""
    store = cabinet.store
    before = store.schema_revision()  # type: ignore[attr-defined]
    cabinet.migrate()
    after = store.schema_revision()  # type: ignore[attr-defined]
    if after != before:
        log(f"  migrated the cached database {before} -> {after}")
        with store.engine.connect().execution_options(  # type: ignore[attr-defined]
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.exec_driver_sql("ANALYZE")


def _settings(data_dir: Path, url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=url, secret_key="bench-lists-" + "x" * 32)


def _is_built(cabinet: Cabinet, size: Size) -> bool:
    try:
        with cabinet.store.engine.connect() as connection:  # type: ignore[attr-defined]
            value = connection.execute(
                sa.select(t.settings.c.value).where(t.settings.c.key == MARKER)
            ).scalar_one_or_none()
    except sa.exc.DatabaseError:
        return False
    return bool(value) and {k: v for k, v in value.items() if k != "measured_client"} == {
        k: v for k, v in _marker(size, 0).items() if k != "measured_client"
    }


@contextmanager
def sqlite_cabinet(size: Size, folder: Path, *, log: Callable[[str], None]) -> Iterator[Cabinet]:
    """The cached SQLite database (built on first use)."""
    path = folder / f"lists-{size.documents}-{size.own}.sqlite3"
    url = f"sqlite:///{path}"
    with tempfile.TemporaryDirectory() as tmp:
        cabinet = Cabinet(_settings(Path(tmp), url), load_entrypoints=False)
        try:
            if not _is_built(cabinet, size):
                cabinet.close()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                cabinet = Cabinet(_settings(Path(tmp), url), load_entrypoints=False)
                log(f"building {path} ({size.documents:,} documents)")
                cabinet.migrate()
                populate(cabinet, size, log=log)
            _migrate(cabinet, log=log)
            yield cabinet
        finally:
            cabinet.close()


def _postgres_name(size: Size) -> str:
    return f"cabinet_bench_lists_{size.documents}_{size.own}"


@contextmanager
def postgres_cabinet(size: Size, server: str, *, log: Callable[[str], None]) -> Iterator[Cabinet]:
    """The cached PostgreSQL database ``cabinet_bench_lists_<n>_<own>`` (built on first use)."""
    name = _postgres_name(size)
    url = create_database(server, name)
    with tempfile.TemporaryDirectory() as tmp:
        cabinet = Cabinet(_settings(Path(tmp), url), load_entrypoints=False)
        try:
            if not _is_built(cabinet, size):
                cabinet.close()
                create_database(server, name, replace=True)
                cabinet = Cabinet(_settings(Path(tmp), url), load_entrypoints=False)
                log(f"building PostgreSQL database {name} ({size.documents:,} documents)")
                cabinet.migrate()
                populate(cabinet, size, log=log)
            _migrate(cabinet, log=log)
            yield cabinet
        finally:
            cabinet.close()


def drop_postgres(size: Size, server: str) -> None:
    """Remove the cached PostgreSQL database."""
    drop_database(server, _postgres_name(size))


# -- the measurement


def list_queries(
    cabinet: Cabinet, measured_id: int, count: int, seed: int = 11
) -> list[dict[str, str]]:
    """What a user would type and pick, taken from the client's own cost invoices: a search
    (a word or the start of the supplier's name, its NIP with or without dashes, the invoice's
    number, its amount the Polish way) and two filters, status and currency, mostly those of
    the invoice the search came from (some searches then find one invoice, a name finds
    hundreds) and sometimes others (which may find nothing)."""
    d = t.documents
    with cabinet.store.engine.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.execute(
            sa.select(
                d.c.number,
                d.c.counterparty_name,
                d.c.counterparty_nip,
                d.c.gross,
                d.c.status,
                d.c.currency,
            )
            .where(d.c.client_id == measured_id, d.c.doc_type == "cost_invoice")
            .order_by(d.c.id)
            .limit(2000)
        ).all()
    rng = random.Random(seed)
    queries = []
    for i in range(count):
        number, name, nip, gross, status, currency = rng.choice(rows)
        if rng.random() < 0.25:
            status = rng.choice(("submitted", "approved", "booked", "paid"))
            currency = _weighted(rng, CURRENCIES)
        terms: list[str] = []
        kind = i % 6
        if kind == 0:  # a word of the supplier's name, as typed: lower case, Polish letters
            word = rng.choice([w.strip('"') for w in name.split() if len(w.strip('"')) > 3])
            terms.append(word.lower())
        elif kind == 1:  # the start of a name
            terms.append(name[: rng.randint(4, 9)])
        elif kind == 2:  # a NIP typed with dashes
            terms.append(f"{nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}")
        elif kind == 3:  # a NIP's digits
            terms.append(nip)
        elif kind == 4:  # an invoice number
            terms.append(number)
        else:  # an amount the Polish way
            whole, cents = f"{gross:.2f}".split(".")
            grouped = f"{int(whole):,}".replace(",", " ")
            terms.append(f"{grouped},{cents}")
        queries.append(
            {"doc_type": "cost_invoice", "search": terms[0], "status": status, "currency": currency}
        )
    return queries


def static_app(body: bytes) -> Starlette:
    """A bare Starlette app serving ``body`` as an HTML page: the baseline."""

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(body)

    return Starlette(routes=[Route("/documents", page)])


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def _timed(web: httpx.AsyncClient, url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    response = await web.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    return elapsed, response.content


#: Transaction control, counted apart from the statements that read (SQLite's explicit BEGIN).
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def measure(cabinet: Cabinet, label: str, *, requests: int, batch: int = 10) -> dict[str, Any]:
    """p50/p95 of the real list page and the static baseline, and the statements per page."""
    return asyncio.run(_measure(cabinet, label, requests=requests, batch=batch))


async def _measure(cabinet: Cabinet, label: str, *, requests: int, batch: int) -> dict[str, Any]:
    from cabinet_web.app import create_app

    engine: sa.Engine = cabinet.store.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        marker = connection.execute(
            sa.select(t.settings.c.value).where(t.settings.c.key == MARKER)
        ).scalar_one()
    measured_id = marker["measured_client"]
    urls = ["/documents?" + urlencode(q) for q in list_queries(cabinet, measured_id, requests)]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    # Both apps are called in this event loop through httpx's ASGI transport: no server, no
    # sockets, no thread between client and app, so what differs is what the apps do.
    transport = httpx.ASGITransport(app=create_app(cabinet))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as web:
        login = await web.get("/login")
        csrf = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = await web.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf},
            follow_redirects=True,
        )
        if response.status_code != 200 or "/login" in str(response.url):
            raise RuntimeError(f"could not sign in: {response.status_code}")
        # Warm up: templates compiled, statements cached, pages in the database's cache. The
        # baseline serves the warm-up page of median size (pages with many hits or none differ
        # by half, so the warm-up takes three batches to find a typical one).
        bodies = sorted([(await _timed(web, url))[1] for url in urls[: 3 * batch]], key=len)
        body = bodies[len(bodies) // 2]
        sizes: list[int] = []
        per_page: list[int] = []
        transactions: list[int] = []
        ours: list[float] = []
        bare: list[float] = []
        bare_transport = httpx.ASGITransport(app=static_app(body))
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            async with httpx.AsyncClient(
                transport=bare_transport, base_url="https://testserver"
            ) as bare_web:
                for start in range(0, len(urls), batch):
                    chunk = urls[start : start + batch]
                    for url in chunk:
                        statements.clear()
                        elapsed, content = await _timed(web, url)
                        ours.append(elapsed)
                        sizes.append(len(content))
                        control = sum(s.startswith(TRANSACTION_CONTROL) for s in statements)
                        per_page.append(len(statements) - control)
                        transactions.append(control)
                    for _ in chunk:
                        bare.append((await _timed(bare_web, "/documents"))[0])
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    p95, bare_p95 = percentile(ours, 0.95), percentile(bare, 0.95)
    return {
        "name": f"list_page_{label}",
        "requests": len(ours),
        "p50_ms": round(percentile(ours, 0.50) * 1e3, 2),
        "p95_ms": round(p95 * 1e3, 2),
        "baseline_p50_ms": round(percentile(bare, 0.50) * 1e3, 2),
        "baseline_p95_ms": round(bare_p95 * 1e3, 2),
        "ratio_p95": round(p95 / bare_p95, 2),
        "page_bytes": round(statistics.median(sizes)),
        "baseline_bytes": len(body),
        "sql_per_page": max(per_page),
        "sql_per_page_min": min(per_page),
        # SQLite's explicit BEGINs (PostgreSQL's begin is implicit in the driver).
        "begins_per_page": max(transactions),
        "goal": "p95 < 50 ms, sql_per_page <= 5",
    }


def run(
    size: Size | None = None,
    *,
    requests: int = 200,
    folder: Path = RESULTS,
    engines: tuple[str, ...] = ("sqlite", "postgresql"),
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Build (or reuse) the databases and measure the list page on each engine."""
    size = size or Size()
    log = log or (lambda text: print(text, file=sys.stderr))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    if "sqlite" in engines:
        with sqlite_cabinet(size, folder, log=log) as cabinet:
            results.append(measure(cabinet, "sqlite", requests=requests))
    if "postgresql" in engines:
        server = postgres_server()
        unreachable = postgres_unreachable(server)
        if unreachable is not None:
            log(f"list_page_postgresql skipped: {unreachable}")
        else:
            with postgres_cabinet(size, server, log=log) as cabinet:
                results.append(measure(cabinet, "postgresql", requests=requests))
    return results


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """``python -m bench lists [--documents N] [--own N] [--requests N] [--engine E]``."""
    parser = argparse.ArgumentParser(prog="python -m bench lists")
    parser.add_argument("--documents", type=int, default=Size.documents)
    parser.add_argument("--own", type=int, default=Size.own)
    parser.add_argument("--clients", type=int, default=Size.clients)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument("--drop", action="store_true", help="remove the cached databases and stop")
    args = parser.parse_args(argv)
    size = Size(documents=args.documents, own=args.own, clients=args.clients)
    if args.drop:
        for path in RESULTS.glob(f"lists-{size.documents}-{size.own}.sqlite3*"):
            path.unlink()
        drop_postgres(size, postgres_server())
        return []
    engines = tuple(args.engine or ("sqlite", "postgresql"))
    return run(size, requests=args.requests, engines=engines)
