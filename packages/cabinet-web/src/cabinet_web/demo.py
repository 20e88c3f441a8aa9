"""Demo data for ``cabinet demo``: the firm's staff, two clients with their companies, bank
sub-accounts in PLN and EUR, counterparties with e-mail addresses, catalogue products, documents
in several states (an issued VAT invoice, an issued proforma, a draft EUR invoice, submitted
cost invoices in PLN and EUR) and news, all created through the services (the same validation
and audit as real use). Running it again changes nothing.

Passwords are generated on the first run and kept in ``demo-logins.json`` (mode 0600) in the
demo's data directory, so they can be printed on every start. A plugin adds a loop the demo can run
next to the cabinet (``cabinet demo --with bitrix24``) through the ``demo_loops`` hook.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pluggy
from cabinet_core.app import Cabinet
from cabinet_core.entities import (
    Actor,
    Address,
    BankAccount,
    Client,
    Counterparty,
    Document,
    DocumentLine,
    NewsItem,
    PaymentMethod,
    Product,
    Role,
    User,
)

if TYPE_CHECKING:
    from cabinet_web.hookspecs import DemoLoop, DemoLoopFactory

SYSTEM = Actor.system()
LOGINS_FILE = "demo-logins.json"

STAFF = (
    (Role.ADMIN, "admin@demo.pl", "Anna Administratorka"),
    (Role.MANAGER, "manager@demo.pl", "Marek Opiekun"),
    (Role.ACCOUNTANT, "accountant@demo.pl", "Katarzyna Księgowa"),
)
CLIENT_LOGIN = (Role.CLIENT, "client@demo.pl", "Jan Kowalski")

CLIENTS = (
    Client(
        name="Kowalski Software sp. z o.o.",
        nip="5250000110",
        regon="123456785",
        address=Address(line1="ul. Marszałkowska 10/4", postal_code="00-590", city="Warszawa"),
        email="biuro@kowalski-software.pl",
        bank_accounts=(
            BankAccount(currency="PLN", iban="PL61109010140000071219812874", bank_name="Santander"),
            BankAccount(currency="EUR", iban="PL34109010140000071219812875", bank_name="Santander"),
        ),
    ),
    Client(
        name="Nowak Transport Anna Nowak",
        nip="7790000126",
        address=Address(line1="ul. Półwiejska 3", postal_code="61-888", city="Poznań"),
        email="kontakt@nowak-transport.pl",
        bank_accounts=(
            BankAccount(currency="PLN", iban="PL38114020040000350201234567", bank_name="mBank"),
            BankAccount(currency="EUR", iban="PL11114020040000350201234568", bank_name="mBank"),
        ),
    ),
)

# The e-mail addresses are the buyers' inboxes "send by e-mail" writes to (the demo's mail
# folder); example.com is reserved, so nothing could ever reach a real mailbox.
COUNTERPARTIES = (
    (
        "Hurtownia Biurowa Zieliński sp.j.",
        "9510000239",
        "ul. Długa 5",
        "80-827",
        "Gdańsk",
        "faktury@zielinski-hurtownia.example.com",
    ),
    (
        "Drukarnia Wiśniewski s.c.",
        "5840000312",
        "ul. Piotrkowska 120",
        "90-006",
        "Łódź",
        "biuro@drukarnia-wisniewski.example.com",
    ),
    (
        "Müller Logistik GmbH",
        None,
        "Hauptstraße 1",
        "10115",
        "Berlin",
        "buchhaltung@mueller-logistik.example.com",
    ),
)

PRODUCTS = (
    ("Wdrożenie systemu — godzina pracy", "godz.", Decimal("180.00"), "23"),
    ("Abonament serwisowy (miesiąc)", "szt.", Decimal("450.00"), "23"),
    ("Szkolenie stacjonarne", "dzień", Decimal("2400.00"), "zw"),
)

NEWS = (
    (
        "KSeF: faktury ustrukturyzowane od 2026 r.",
        "Od 1 lutego 2026 r. duże firmy, a od 1 kwietnia 2026 r. pozostali podatnicy VAT "
        "wystawiają faktury w KSeF. Panel Klienta przygotowuje je w formacie FA(3).",
        True,
    ),
    (
        "Termin JPK_V7M za październik",
        "Prosimy o przekazanie wszystkich faktur kosztowych za październik do 10 listopada.",
        False,
    ),
)


def _load_logins(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(key): str(value) for key, value in data.items()}


def _save_logins(path: Path, logins: dict[str, str]) -> None:
    path.write_text(json.dumps(logins, indent=2, sort_keys=True), encoding="utf-8")
    path.chmod(0o600)


def seed(cabinet: Cabinet, data_dir: Path) -> list[tuple[str, str, str]]:
    """Create whatever demo data is missing; return ``(role, email, password)`` for the logins."""
    path = data_dir / LOGINS_FILE
    passwords = _load_logins(path)
    users = {user.email.lower(): user for user in cabinet.users.list(SYSTEM)}

    def ensure_user(role: Role, email: str, name: str, client_id: int | None) -> User:
        user = users.get(email)
        if user is None:
            password = passwords.setdefault(email, secrets.token_urlsafe(9))
            user = cabinet.users.create(
                SYSTEM, email=email, name=name, role=role, client_id=client_id, password=password
            )
            users[email] = user
        elif email not in passwords:
            # The passwords file was lost: hand out a new password rather than print a wrong one.
            assert user.id is not None
            passwords[email] = cabinet.users.generate_password(SYSTEM, user.id)
        return user

    staff = {role: ensure_user(role, email, name, None) for role, email, name in STAFF}
    manager = staff[Role.MANAGER]
    existing = {client.nip: client for client in cabinet.clients.list(SYSTEM)}
    clients = []
    for spec in CLIENTS:
        client = existing.get(spec.nip)
        if client is None:
            client = cabinet.clients.create(SYSTEM, attrs.evolve(spec, manager_id=manager.id))
            _seed_client_data(cabinet, client)
        clients.append(client)
    role, email, name = CLIENT_LOGIN
    ensure_user(role, email, name, clients[0].id)
    if cabinet.news.list(SYSTEM, limit=1).total == 0:
        for title, body, important in NEWS:
            cabinet.news.publish(SYSTEM, NewsItem(title=title, body=body, important=important))
    _save_logins(path, passwords)
    order: Sequence[tuple[Role, str]] = (
        (Role.CLIENT, CLIENT_LOGIN[1]),
        *((role, email) for role, email, _ in (STAFF[1], STAFF[2], STAFF[0])),
    )
    return [(role.value, email, passwords[email]) for role, email in order]


def _seed_client_data(cabinet: Cabinet, client: Client) -> None:
    """Counterparties, products and a few documents of one new demo client."""
    assert client.id is not None
    counterparties = [
        cabinet.counterparties.create(
            SYSTEM,
            Counterparty(
                client_id=client.id,
                name=name,
                nip=nip,
                # The foreign buyer of the np II demo invoice: an intra-EU service needs its
                # EU VAT number (a valid German one).
                vat_eu=None if nip else "DE136695976",
                email=email,
                address=Address(
                    line1=line1,
                    postal_code=postal,
                    city=city,
                    country="PL" if nip else "DE",
                ),
            ),
        )
        for name, nip, line1, postal, city, email in COUNTERPARTIES
    ]
    products = [
        cabinet.products.create(
            SYSTEM,
            Product(client_id=client.id, name=name, unit=unit, unit_price=price, vat_rate=rate),
        )
        for name, unit, price, rate in PRODUCTS
    ]
    today = date.today()
    pln = next(account for account in client.bank_accounts if account.currency == "PLN")
    eur = next(account for account in client.bank_accounts if account.currency == "EUR")
    buyer = counterparties[0]
    # The documents service prints the client and the counterparty as seller and buyer itself.
    invoice = cabinet.documents.create(
        SYSTEM,
        Document(
            client_id=client.id,
            doc_type="vat_invoice",
            issue_date=today - timedelta(days=3),
            sale_date=today - timedelta(days=3),
            due_date=today + timedelta(days=11),
            counterparty_id=buyer.id,
            bank_account=pln,
            payment_method=PaymentMethod.TRANSFER,
            lines=(
                DocumentLine(
                    name=products[0].name,
                    quantity=Decimal("12"),
                    unit=products[0].unit,
                    unit_price=products[0].unit_price,
                    vat_rate=products[0].vat_rate,
                    product_id=products[0].id,
                ),
                DocumentLine(
                    name=products[1].name,
                    unit_price=products[1].unit_price,
                    vat_rate=products[1].vat_rate,
                    product_id=products[1].id,
                ),
            ),
        ),
    )
    assert invoice.id is not None
    cabinet.documents.transition(SYSTEM, invoice.id, "issue")
    cabinet.documents.create(
        SYSTEM,
        Document(
            client_id=client.id,
            doc_type="vat_invoice",
            issue_date=today,
            sale_date=today,
            due_date=today + timedelta(days=14),
            counterparty_id=counterparties[2].id,
            currency="EUR",
            bank_account=eur,
            lines=(
                DocumentLine(
                    name="Software implementation (hour)",
                    quantity=Decimal("20"),
                    unit="h",
                    unit_price=Decimal("45.00"),
                    vat_rate="np II",
                ),
            ),
        ),
    )
    seller = counterparties[1]
    cost = cabinet.documents.create(
        SYSTEM,
        Document(
            client_id=client.id,
            doc_type="cost_invoice",
            issue_date=today - timedelta(days=10),
            sale_date=today - timedelta(days=10),
            receipt_date=today - timedelta(days=8),
            due_date=today + timedelta(days=4),
            counterparty_id=seller.id,
            lines=(
                DocumentLine(
                    name="Druk ulotek A5 (1000 szt.)",
                    unit_price=Decimal("615.00"),
                    vat_rate="23",
                ),
                DocumentLine(
                    name="Wizytówki",
                    quantity=Decimal("2"),
                    unit_price=Decimal("89.90"),
                    vat_rate="8",
                ),
            ),
            extra={"seller_invoice_number": f"FS/{today.year}/0412"},
        ),
    )
    assert cost.id is not None
    cabinet.documents.transition(SYSTEM, cost.id, "submit")
    # A freight bill in euros: its VAT is shown in PLN at the NBP rate.
    carrier = counterparties[2]
    eur_cost = cabinet.documents.create(
        SYSTEM,
        Document(
            client_id=client.id,
            doc_type="cost_invoice",
            issue_date=today - timedelta(days=6),
            sale_date=today - timedelta(days=6),
            receipt_date=today - timedelta(days=5),
            due_date=today + timedelta(days=24),
            counterparty_id=carrier.id,
            currency="EUR",
            payment_method=PaymentMethod.TRANSFER,
            lines=(
                DocumentLine(
                    name="Transport Berlin–Warszawa (ładunek całopojazdowy)",
                    unit_price=Decimal("1150.00"),
                    vat_rate="23",
                ),
            ),
            extra={"seller_invoice_number": f"ML-{today.year}-3317"},
        ),
    )
    assert eur_cost.id is not None
    cabinet.documents.transition(SYSTEM, eur_cost.id, "submit")
    # An issued proforma, ready to be sent or converted into a VAT invoice.
    proforma = cabinet.documents.create(
        SYSTEM,
        Document(
            client_id=client.id,
            doc_type="proforma",
            issue_date=today - timedelta(days=1),
            sale_date=today - timedelta(days=1),
            due_date=today + timedelta(days=7),
            counterparty_id=counterparties[1].id,
            bank_account=pln,
            payment_method=PaymentMethod.TRANSFER,
            lines=(
                DocumentLine(
                    name=products[2].name,
                    quantity=Decimal("2"),
                    unit=products[2].unit,
                    unit_price=products[2].unit_price,
                    vat_rate=products[2].vat_rate,
                    product_id=products[2].id,
                ),
            ),
            extra={
                "valid_until": (today + timedelta(days=7)).isoformat(),
                # The training is exempt: the proforma names the basis its invoice will carry.
                "exemption_basis": "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT",
            },
        ),
    )
    assert proforma.id is not None
    cabinet.documents.transition(SYSTEM, proforma.id, "issue")


# -- plugins' demo loops (``cabinet demo --with NAME``) ------------------------------------


def demo_loops(
    pm: pluggy.PluginManager, names: Sequence[str], *, host: str, port: int
) -> list[DemoLoop]:
    """The loops ``names`` asks for, made by the plugins that registered them through the
    ``demo_loops`` hook (``factory(host=host, port=port + i)`` for the i-th loop, so two
    emulators never share a port). ``LookupError`` names an unknown
    loop and the known ones."""
    from cabinet_web.plugin import add_hookspecs

    add_hookspecs(pm)
    factories: dict[str, DemoLoopFactory] = {}

    def register(name: str, factory: DemoLoopFactory) -> None:
        if name in factories:
            raise ValueError(f"demo loop {name!r} is registered twice")
        factories[name] = factory

    pm.hook.demo_loops(register=register)
    unknown = [name for name in names if name not in factories]
    if unknown:
        known = ", ".join(sorted(factories)) or "none (install a plugin that offers one)"
        raise LookupError(f"no demo loop named {', '.join(unknown)}; known: {known}")
    # Each loop's emulated service gets a port of its own: ``port``, ``port + 1`` … in order.
    return [factories[name](host=host, port=port + index) for index, name in enumerate(names)]
