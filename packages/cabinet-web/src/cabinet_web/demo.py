"""Demo data for ``cabinet demo``: the firm's staff, two clients with their companies, bank
sub-accounts in PLN and EUR, counterparties with e-mail addresses, catalogue products, documents
in several states (an issued VAT invoice, an issued proforma, a draft EUR invoice, submitted
cost invoices in PLN and EUR) and news, all created through the services (the same validation
and audit as real use). Running it again changes nothing.

Passwords are generated on the first run and kept in ``demo-logins.json`` (mode 0600) in the
demo's data directory, so they can be printed on every start.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
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
            extra={"valid_until": (today + timedelta(days=7)).isoformat()},
        ),
    )
    assert proforma.id is not None
    cabinet.documents.transition(SYSTEM, proforma.id, "issue")


# -- the Bitrix24 loop (``cabinet demo --with-bitrix-emulator``) -------------------------------

#: The emulated portal's workgroup "Aktualności dla klientów", whose feed is the demo's news.
DEMO_NEWS_GROUP = 12
#: The emulated portal's manager (Piotr Wiśniewski), who answers the clients in Open Lines.
DEMO_OPERATOR = 2


def bitrix_environment(emulator: Any) -> dict[str, str]:
    """The ``CABINET_BITRIX_*`` settings of a cabinet using ``emulator`` as its portal through
    the local app (app mode: events, the placement and Open Lines all work)."""
    base = emulator.config.portal_url.rstrip("/")
    return {
        "CABINET_BITRIX_CLIENT_ID": emulator.app.client_id,
        "CABINET_BITRIX_CLIENT_SECRET": emulator.app.client_secret,
        "CABINET_BITRIX_MEMBER_ID": emulator.portal.member_id,
        "CABINET_BITRIX_TOKEN_URL": f"{base}/oauth/token/",
        "CABINET_BITRIX_PLAN": emulator.config.plan.name.lower(),
        "CABINET_BITRIX_NEWS_GROUP": str(DEMO_NEWS_GROUP),
        "CABINET_BITRIX_OPENLINE": "1",
    }


def connect_bitrix(cabinet: Cabinet, emulator: Any, cabinet_url: str) -> list[str]:
    """Install the app on the emulated portal for ``cabinet`` (what an admin's click on
    "Install" does): store its tokens, bind the events to ``cabinet_url``'s
    ``/hooks/bitrix24``, the placement and the Open Lines connector. What was bound."""
    from cabinet_bitrix.auth import PortTokenStore, install
    from cabinet_bitrix.web import bitrix_backend, setup_app

    install(PortTokenStore(cabinet.sync_port("bitrix24")), {"auth": emulator.install_app()})
    backend = bitrix_backend(cabinet)
    if backend is None:
        raise RuntimeError("the cabinet's bitrix24 backend is not active")
    bound: list[str] = setup_app(cabinet, backend.client, cabinet_url.rstrip("/"))
    return bound


def seed_bitrix(emulator: Any) -> None:
    """A first post in the news workgroup's feed (once)."""
    if any(f"SG{DEMO_NEWS_GROUP}" in post["_rights"] for post in emulator.portal.posts.values()):
        return
    emulator.act(
        "log.blogpost.add",
        {
            "POST_TITLE": "Witamy w Panelu Klienta",
            "POST_MESSAGE": "Ta wiadomość pochodzi z [b]Bitrix24[/b]: wpisy grupy "
            "„Aktualności dla klientów” trafiają do aktualności w Panelu Klienta.",
            "DEST": [f"SG{DEMO_NEWS_GROUP}"],
        },
    )


def bitrix_banner(emulator: Any) -> str:
    """How to play the firm's side of the loop against the emulator (printed by the demo)."""
    base = emulator.config.portal_url.rstrip("/")
    act = f"curl -s -X POST {base}/_emulator/act -H 'Content-Type: application/json' -d"
    return "\n".join(
        [
            f"Bitrix24 emulator: {base}/  (app installed; what it holds: {base}/_emulator/state)",
            "Play the firm's staff in Bitrix24:",
            "  move a document's quote to Approved (its id is in _emulator/state under '7'):",
            f"""    {act} '{{"method": "crm.item.update", "params": """
            """{"entityTypeId": 7, "id": 1, "fields": {"stageId": "APPROVED"}}}'""",
            "  publish news in the clients' workgroup feed:",
            f"""    {act} '{{"method": "log.blogpost.add", "params": {{"POST_TITLE": """
            f""""Nowość", "POST_MESSAGE": "Treść", "DEST": ["SG{DEMO_NEWS_GROUP}"]}}}}'""",
            "  answer a client's chat message as its manager (after the client wrote one):",
            f"    curl -s -X POST {base}/_emulator/operator-reply "
            "-H 'Content-Type: application/json' "
            """-d '{"chat": "client-1", "text": "Dzień dobry!"}'""",
        ]
    )
