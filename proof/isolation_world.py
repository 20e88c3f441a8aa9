"""The cabinet the tenant-isolation crawler attacks: two client companies, A and B, each with a
user and one of everything the cabinet keeps for a client (counterparty, product, documents of
several types with lines, an attachment, issued invoices with their PDF and FA(3) XML, a
correction, a contract, chat with a file, a cash desk with a report and a slip, a report export,
a VAT mark, an API token, a notification); a manager of A only, a manager of B, an admin.

Every text of client B carries :data:`CANARY`, so a response that shows any of B's data to
someone else is found by searching its body for that one word.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.cashdesk import CashSlip, SlipKind
from cabinet_core.entities import (
    Actor,
    Address,
    Client,
    Counterparty,
    Document,
    DocumentLine,
    Party,
    Product,
    Role,
    User,
)
from cabinet_core.reports.query import ReportQuery
from cabinet_core.services.contracts import Contractor, ContractOrder
from cabinet_core.settings import Settings
from cabinet_core.storage import Store

#: The word every text of client B carries (names, notes, messages, file names, e-mails).
CANARY = "ZETAX"
PASSWORD = "correct-horse-battery-9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SYSTEM = Actor.system()


@attrs.frozen(kw_only=True)
class Tenant:
    """One client company and the ids of everything it has, by kind."""

    client_id: int
    user: User
    ids: Mapping[str, tuple[int, ...]]

    def first(self, kind: str) -> int:
        return self.ids[kind][0]


@attrs.frozen(kw_only=True)
class IsolationWorld:
    cabinet: Cabinet
    a: Tenant
    b: Tenant
    admin: User
    manager_a: User
    manager_b: User
    tokens: Mapping[str, str]  # who → API token secret


def open_cabinet(data_dir: Path) -> Cabinet:
    """A migrated cabinet with every installed plugin (the routes crawled are the product's),
    on SQLite under ``data_dir``; offline exchange rates, a fast password hash."""
    settings = Settings(
        data_dir=data_dir,
        secret_key="isolation-" + "k" * 40,
        rate_provider="offline",
        login_attempts=1000,
    )
    cabinet = Cabinet(settings, load_entrypoints=True)
    cabinet.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    cabinet.migrate()
    return cabinet


def _user(cabinet: Cabinet, email: str, role: Role, client_id: int | None, name: str) -> User:
    return cabinet.users.create(
        SYSTEM, email=email, name=name, role=role, client_id=client_id, password=PASSWORD
    )


def _id(value: Any) -> int:
    assert value.id is not None
    return int(value.id)


def _seed_tenant(
    cabinet: Cabinet, client: Client, user: User, manager: User, admin: User, tag: str
) -> Tenant:
    """One of everything for ``client``; texts carry ``tag``."""
    who = Actor.of(user)
    staff = Actor.of(admin)
    client_id = _id(client)
    today = date(2026, 12, 1)
    counterparty = cabinet.counterparties.create(
        who,
        Counterparty(
            client_id=client_id,
            name=f"{tag} Kontrahent sp. z o.o.",
            nip="5260250274",
            email=f"{tag.lower()}.kontrahent@example.com",
        ),
    )
    product = cabinet.products.create(
        who,
        Product(
            client_id=client_id,
            name=f"{tag} Produkt",
            unit="szt.",
            unit_price=Decimal("100.00"),
        ),
    )
    line = DocumentLine(
        name=f"{tag} Produkt",
        quantity=Decimal(2),
        unit="szt.",
        unit_price=Decimal("100.00"),
        product_id=_id(product),
    )
    buyer = Party(name=f"{tag} Kontrahent sp. z o.o.", nip="5260250274")

    def invoice(doc_type: str = "vat_invoice", **more: Any) -> Document:
        return Document(
            client_id=client_id,
            doc_type=doc_type,
            issue_date=today,
            sale_date=today,
            due_date=date(2026, 12, 15),
            buyer=buyer,
            counterparty_id=_id(counterparty),
            lines=(line,),
            notes=f"{tag} notatka",
            **more,
        )

    documents = cabinet.documents
    draft = documents.create(who, invoice())
    attachment = cabinet.attachments.add(
        who, _id(draft), filename=f"{tag.lower()}-skan.pdf", data=PDF
    )
    issued = documents.transition(who, _id(documents.create(who, invoice())), "issue")
    correction = cabinet.invoicing.correct(who, _id(issued), reason=f"{tag} korekta")
    proforma = documents.transition(who, _id(documents.create(who, invoice("proforma"))), "issue")
    cost = documents.create(
        who,
        Document(
            client_id=client_id,
            doc_type="cost_invoice",
            issue_date=today,
            seller=Party(name=f"{tag} Dostawca", nip="9510000239"),
            lines=(attrs.evolve(line, product_id=None),),
            extra={"seller_invoice_number": f"{tag}/1"},
            notes=f"{tag} koszt",
        ),
    )
    cabinet.vat_statements.mark(staff, _id(cost), non_deductible=True)
    templates = cabinet.contract_templates.list(staff)
    contract = cabinet.contracts.create(
        who,
        ContractOrder(
            client_id=client_id,
            template_id=_id(next(t for t in templates if t.active)),
            contractor=Contractor(name=f"{tag} Wykonawca", pesel="44051401359"),
            subject=f"{tag} dzieło",
            date_from=today,
            date_to=date(2026, 12, 31),
            amount=Decimal("1000.00"),
            issue_date=today,
        ),
    )
    message = cabinet.chat.post(
        who,
        client_id=client_id,
        body=f"{tag} wiadomość",
        filename=f"{tag.lower()}-czat.pdf",
        data=PDF,
    )
    # The manager's answer notifies the client's user.
    cabinet.chat.post(Actor.of(manager), client_id=client_id, body=f"{tag} odpowiedź")
    desk = cabinet.cash.add_desk(who, client_id, name=f"{tag} Kasa", symbol="KASA")
    report = cabinet.cash.open_report(
        who, _id(desk), period_from=today, period_to=date(2026, 12, 31)
    )
    slip = cabinet.cash.add_slip(
        who,
        CashSlip(
            desk_id=_id(desk),
            kind=SlipKind.KP,
            on=today,
            amount=Decimal("50.00"),
            party_name=f"{tag} Wpłacający",
            title=f"{tag} wpłata",
            counterparty_id=_id(counterparty),
        ),
        report_id=_id(report),
    )
    job = cabinet.reports.start_export(who, ReportQuery(), "csv")
    token, _secret = cabinet.tokens.create(who, name=f"{tag} token")
    attachments = [m for m in cabinet.chat.list(who, client_id) if m.id == message.id]
    chat_files = tuple(f.id for m in attachments for f in m.attachments if f.id is not None)
    notifications = tuple(n.id for n in cabinet.notifications.list(who) if n.id is not None)
    return Tenant(
        client_id=client_id,
        user=user,
        ids={
            "client": (client_id,),
            "user": (_id(user),),
            "counterparty": (_id(counterparty),),
            "product": (_id(product),),
            # Every type the crawler meets: a draft, an issued invoice (PDF, FA(3) XML), its
            # correction, an issued pro forma, a cost invoice, a contract.
            "document": tuple(
                _id(d) for d in (draft, issued, correction, proforma, cost, contract)
            ),
            "issued": (_id(issued),),
            "draft": (_id(draft),),
            "attachment": (_id(attachment),),
            "chat_attachment": chat_files,
            "desk": (_id(desk),),
            "report": (_id(report),),
            "slip": (_id(slip),),
            "job": (_id(job),),
            "token": (_id(token),),
            "notification": notifications,
        },
    )


def build(data_dir: Path) -> Iterator[IsolationWorld]:
    """The world, its cabinet closed afterwards."""
    with open_cabinet(data_dir) as cabinet:
        admin = _user(cabinet, "admin@firm.example", Role.ADMIN, None, "Ada Admin")
        manager_a = _user(cabinet, "manager.a@firm.example", Role.MANAGER, None, "Marek A")
        # Staff are the firm's people, not the client's data: no canary in B's manager.
        manager_b = _user(cabinet, "manager.b@firm.example", Role.MANAGER, None, "Bogdan B")
        client_a = cabinet.clients.create(
            SYSTEM,
            Client(
                name="Alfa sp. z o.o.",
                nip="5250000110",
                address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
                manager_id=manager_a.id,
            ),
        )
        client_b = cabinet.clients.create(
            SYSTEM,
            Client(
                name=f"{CANARY} Beta s.c.",
                nip="7790000126",
                address=Address(line1=f"ul. {CANARY} 2", postal_code="60-001", city="Poznań"),
                manager_id=manager_b.id,
                email=f"{CANARY.lower()}@beta.example",
            ),
        )
        user_a = _user(cabinet, "jan@alfa.example", Role.CLIENT, client_a.id, "Jan Alfa")
        user_b = _user(
            cabinet, f"{CANARY.lower()}@beta.example", Role.CLIENT, client_b.id, f"{CANARY} Ola"
        )
        a = _seed_tenant(cabinet, client_a, user_a, manager_a, admin, "Alfa")
        b = _seed_tenant(cabinet, client_b, user_b, manager_b, admin, CANARY)
        cabinet.reports.run_export_jobs(limit=10)
        tokens = {
            who: cabinet.tokens.create(Actor.of(user), name="crawler")[1]
            for who, user in (
                ("user_a", user_a),
                ("manager_a", manager_a),
                ("user_b", user_b),
                ("admin", admin),
            )
        }
        yield IsolationWorld(
            cabinet=cabinet,
            a=a,
            b=b,
            admin=admin,
            manager_a=manager_a,
            manager_b=manager_b,
            tokens=tokens,
        )


# -- B's data, read straight from the tables -----------------------------------------------------

#: Tables whose rows record what others did (the audit log, the outbox, sign-in attempts,
#: sessions) or are the firm's own (settings, contract templates, news): not B's data.
_NOT_TENANT_DATA = frozenset(
    {
        "audit_log",
        "outbox",
        "outbox_deliveries",
        "login_attempts",
        "sessions",
        "settings",
        "contract_templates",
        "contract_template_versions",
        "news",
    }
)
#: Columns that change when B's own people merely use the cabinet.
_VOLATILE = frozenset({"last_used_at", "last_seen_at", "last_login_at"})


def snapshot(store: Store, b: Tenant) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of client B's data, by table (compared before and after each write)."""
    users = set(b.ids["user"])
    documents = set(b.ids["document"])
    desks = set(b.ids["desk"])
    tables = _metadata().tables
    found: dict[str, list[tuple[Any, ...]]] = {}
    with store.engine.connect() as connection:
        for name, table in sorted(tables.items()):
            if name in _NOT_TENANT_DATA:
                continue
            columns = table.columns
            if name == "clients":
                condition = columns["id"] == b.client_id
            elif "client_id" in columns:
                condition = columns["client_id"] == b.client_id
            elif "desk_id" in columns:
                condition = columns["desk_id"].in_(desks)
            elif "document_id" in columns:
                condition = columns["document_id"].in_(documents)
            elif "user_id" in columns:
                condition = columns["user_id"].in_(users)
            else:
                continue
            kept = [c for c in columns if c.name not in _VOLATILE]
            rows = connection.execute(sa.select(*kept).where(condition)).all()
            found[name] = sorted((tuple(row) for row in rows), key=repr)
    return found


def _metadata() -> sa.MetaData:
    from cabinet_core.storage import schema

    return schema.metadata


def cross_links(store: Store, a: Tenant, b: Tenant) -> list[str]:
    """Rows of client A that point at a record of client B (should be none)."""
    t = _metadata().tables
    checks = [
        ("documents.counterparty_id", t["documents"], "counterparty_id", b.ids["counterparty"]),
        ("documents.related_id", t["documents"], "related_id", b.ids["document"]),
        ("cash_slips.counterparty_id", t["cash_slips"], "counterparty_id", b.ids["counterparty"]),
        ("cash_slips.document_id", t["cash_slips"], "document_id", b.ids["document"]),
    ]
    found: list[str] = []
    with store.engine.connect() as connection:
        for label, table, column, foreign in checks:
            owner = (
                table.c.client_id == a.client_id
                if "client_id" in table.c
                else table.c.desk_id.in_(a.ids["desk"])
            )
            rows = connection.execute(
                sa.select(table.c.id).where(owner, table.c[column].in_(foreign))
            ).all()
            found += [f"{label}: row {row.id}" for row in rows]
        lines = t["document_lines"]
        documents = t["documents"]
        rows = connection.execute(
            sa.select(lines.c.id)
            .join(documents, documents.c.id == lines.c.document_id)
            .where(
                documents.c.client_id != b.client_id,
                lines.c.product_id.in_(b.ids["product"]),
            )
        ).all()
        found += [f"document_lines.product_id: row {row.id}" for row in rows]
    return found
