"""Mapping entities to table rows and back: one pair of functions per table.

JSON columns are written through :mod:`cabinet_core.converter`; the denormalised search columns
of documents (the counterparty, a case-folded search text) are derived here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import RowMapping

from cabinet_core.converter import converter, json_value, to_json_dict
from cabinet_core.entities import (
    Address,
    ApiToken,
    Attachment,
    AuditEntry,
    BankAccount,
    ChatMessage,
    Client,
    Counterparty,
    Document,
    DocumentLine,
    DocumentTotals,
    ExchangeRate,
    NewsItem,
    Notification,
    OutboxMessage,
    Party,
    PartyKind,
    PaymentMethod,
    PaymentStatus,
    PriceMode,
    Product,
    Role,
    TokenScope,
    User,
    VatMethod,
)

# A scope a later version added and this one does not know is ignored, never an error.
_SCOPE_WORDS = frozenset(scope.value for scope in TokenScope)


def digits(text: str | None) -> str:
    """Only the digits of ``text`` (NIPs are compared and searched this way)."""
    return re.sub(r"\D", "", text or "")


def fold(text: str | None) -> str:
    """Case-folded text for case-insensitive search that also works for Polish letters."""
    return (text or "").casefold()


def json(value: Any) -> Any:
    return None if value is None else to_json_dict(value)


def client_values(client: Client) -> dict[str, Any]:
    return {
        "name": client.name,
        "name_key": fold(client.name),
        "nip": client.nip,
        "regon": client.regon,
        "krs": client.krs,
        "address": to_json_dict(client.address),
        "email": client.email,
        "bank_accounts": [to_json_dict(account) for account in client.bank_accounts],
        "manager_id": client.manager_id,
        "allowed_templates": list(client.allowed_templates),
        "default_template": client.default_template,
        "language": client.language,
        "auto_send": client.auto_send,
        "active": client.active,
    }


def client_from_row(row: RowMapping) -> Client:
    return Client(
        id=row["id"],
        name=row["name"],
        nip=row["nip"],
        regon=row["regon"],
        krs=row["krs"],
        address=converter.structure(row["address"], Address),
        email=row["email"],
        bank_accounts=converter.structure(row["bank_accounts"], tuple[BankAccount, ...]),
        manager_id=row["manager_id"],
        accountant_id=row.get("accountant_id"),
        allowed_templates=tuple(row["allowed_templates"]),
        default_template=row["default_template"],
        language=row["language"],
        auto_send=row["auto_send"],
        active=row["active"],
        created_at=row["created_at"],
    )


def user_values(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "email_key": user.email.strip().lower(),
        "name": user.name,
        "role": user.role.value,
        "client_id": user.client_id,
        "language": user.language,
        "password_hash": user.password_hash,
        "active": user.active,
    }


def user_from_row(row: RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        client_id=row["client_id"],
        language=row["language"],
        password_hash=row["password_hash"],
        active=row["active"],
        created_at=row["created_at"],
    )


def counterparty_values(cp: Counterparty) -> dict[str, Any]:
    return {
        "client_id": cp.client_id,
        "kind": cp.kind.value,
        "name": cp.name,
        "name_key": fold(cp.name),
        "nip": cp.nip,
        "vat_eu": cp.vat_eu,
        "regon": cp.regon,
        "krs": cp.krs,
        "address": to_json_dict(cp.address),
        "email": cp.email,
    }


def counterparty_from_row(row: RowMapping) -> Counterparty:
    return Counterparty(
        id=row["id"],
        client_id=row["client_id"],
        kind=PartyKind(row["kind"]),
        name=row["name"],
        nip=row["nip"],
        vat_eu=row["vat_eu"],
        regon=row["regon"],
        krs=row["krs"],
        address=converter.structure(row["address"], Address),
        email=row["email"],
        created_at=row["created_at"],
    )


def product_values(product: Product) -> dict[str, Any]:
    return {
        "client_id": product.client_id,
        "name": product.name,
        "name_key": fold(product.name),
        "unit": product.unit,
        "unit_price": product.unit_price,
        "currency": product.currency,
        "vat_rate": product.vat_rate,
        "gtu": product.gtu,
        "procedures": list(product.procedures) or None,
    }


def product_from_row(row: RowMapping) -> Product:
    return Product(
        id=row["id"],
        client_id=row["client_id"],
        name=row["name"],
        unit=row["unit"],
        unit_price=row["unit_price"],
        currency=row["currency"],
        vat_rate=row["vat_rate"],
        gtu=row["gtu"],
        procedures=tuple(row["procedures"] or ()),
        created_at=row["created_at"],
    )


def same_party(party: Party | None, nip: str | None, name: str) -> bool:
    if party is None:
        return False
    if party.nip and nip:
        return digits(party.nip) == digits(nip)
    return fold(party.name) == fold(name)


def search_key(doc: Document) -> str:
    """What the document list's search matches: the number and both parties' names and NIPs."""
    search_parts = [doc.number or ""]
    for party in (doc.seller, doc.buyer):
        if party is not None:
            search_parts += [party.name, party.nip or "", digits(party.nip), party.vat_eu or ""]
    return fold(" ".join(part for part in search_parts if part))


def document_values(doc: Document, client_nip: str | None, client_name: str) -> dict[str, Any]:
    # The counterparty is whichever party is not the client itself: the buyer on a sales
    # invoice, the seller on a cost invoice.
    if same_party(doc.seller, client_nip, client_name):
        other = doc.buyer
    elif same_party(doc.buyer, client_nip, client_name):
        other = doc.seller
    else:
        other = doc.buyer or doc.seller
    totals = doc.totals
    rate = doc.exchange_rate
    return {
        "client_id": doc.client_id,
        "doc_type": doc.doc_type,
        "status": doc.status,
        "number": doc.number,
        "series": doc.series,
        "currency": doc.currency,
        "language": doc.language,
        "issue_date": doc.issue_date,
        "sale_date": doc.sale_date,
        "receipt_date": doc.receipt_date,
        "due_date": doc.due_date,
        "payment_method": doc.payment_method.value,
        "payment_status": doc.payment_status.value,
        "seller": json(doc.seller),
        "buyer": json(doc.buyer),
        "counterparty_id": doc.counterparty_id,
        "counterparty_name": other.name if other else None,
        "counterparty_nip": (digits(other.nip) or None) if other else None,
        "search_key": search_key(doc),
        "bank_account": json(doc.bank_account),
        "price_mode": doc.price_mode.value,
        "vat_method": doc.vat_method.value,
        "fx_currency": rate.currency if rate else None,
        "fx_rate": rate.rate if rate else None,
        "fx_date": rate.effective_date if rate else None,
        "fx_table": rate.table_no if rate else None,
        "fx_source": rate.source if rate else None,
        "totals": json(totals),
        "net": totals.net if totals else Decimal("0.00"),
        "vat": totals.vat if totals else Decimal("0.00"),
        "gross": totals.gross if totals else Decimal("0.00"),
        "vat_pln": totals.vat_pln if totals else None,
        "template": doc.template,
        "notes": doc.notes,
        "extra": json_value(doc.extra),
        "related_id": doc.related_id,
        "created_by": doc.created_by,
    }


def line_values(document_id: int, position: int, line: DocumentLine) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "position": position,
        "name": line.name,
        "quantity": line.quantity,
        "unit": line.unit,
        "unit_price": line.unit_price,
        "vat_rate": line.vat_rate,
        "product_id": line.product_id,
        "gtu": line.gtu,
        "procedures": list(line.procedures) or None,
        "non_deductible": line.non_deductible,
        "before": line.before,
        "annex15": line.annex15,
    }


def line_from_row(row: RowMapping) -> DocumentLine:
    return DocumentLine(
        name=row["name"],
        quantity=row["quantity"],
        unit=row["unit"],
        unit_price=row["unit_price"],
        vat_rate=row["vat_rate"],
        product_id=row["product_id"],
        gtu=row["gtu"],
        procedures=tuple(row["procedures"] or ()),
        non_deductible=row["non_deductible"],
        before=row["before"],
        annex15=row["annex15"],
    )


def document_from_row(row: RowMapping, lines: Sequence[DocumentLine]) -> Document:
    rate = None
    if row["fx_rate"] is not None:
        rate = ExchangeRate(
            currency=row["fx_currency"],
            rate=row["fx_rate"],
            effective_date=row["fx_date"],
            table_no=row["fx_table"],
            source=row["fx_source"],
        )
    return Document(
        id=row["id"],
        client_id=row["client_id"],
        doc_type=row["doc_type"],
        status=row["status"],
        number=row["number"],
        series=row["series"],
        currency=row["currency"],
        language=row["language"],
        issue_date=row["issue_date"],
        sale_date=row["sale_date"],
        receipt_date=row["receipt_date"],
        due_date=row["due_date"],
        payment_method=PaymentMethod(row["payment_method"]),
        payment_status=PaymentStatus(row["payment_status"]),
        seller=None if row["seller"] is None else converter.structure(row["seller"], Party),
        buyer=None if row["buyer"] is None else converter.structure(row["buyer"], Party),
        counterparty_id=row["counterparty_id"],
        bank_account=(
            None
            if row["bank_account"] is None
            else converter.structure(row["bank_account"], BankAccount)
        ),
        lines=tuple(lines),
        price_mode=PriceMode(row["price_mode"]),
        vat_method=VatMethod(row["vat_method"]),
        exchange_rate=rate,
        totals=(
            None if row["totals"] is None else converter.structure(row["totals"], DocumentTotals)
        ),
        template=row["template"],
        notes=row["notes"],
        extra=dict(row["extra"]),
        related_id=row["related_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def news_values(item: NewsItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "body": item.body,
        "important": item.important,
        "author_id": item.author_id,
        "external_id": item.external_id,
    }


def news_from_row(row: RowMapping) -> NewsItem:
    return NewsItem(
        id=row["id"],
        title=row["title"],
        body=row["body"],
        important=row["important"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        author_id=row["author_id"],
        external_id=row["external_id"],
    )


def chat_from_row(row: RowMapping) -> ChatMessage:
    return ChatMessage(
        id=row["id"],
        client_id=row["client_id"],
        author_id=row["author_id"],
        body=row["body"],
        created_at=row["created_at"],
        external_id=row["external_id"],
    )


def notification_from_row(row: RowMapping) -> Notification:
    return Notification(
        id=row["id"],
        user_id=row["user_id"],
        kind=row["kind"],
        text=row["text"],
        link=row["link"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


def audit_from_row(row: RowMapping) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor_id=row["actor_id"],
        client_id=row["client_id"],
        action=row["action"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        detail=dict(row["detail"]),
        ip=row["ip"],
        user_agent=row["user_agent"],
    )


def outbox_from_row(
    row: Mapping[Any, Any], delivery: Mapping[Any, Any] | None = None
) -> OutboxMessage:
    """A message with one of its deliveries: the delivery's columns from ``delivery`` when
    given, else from ``row`` (a join; they are NULL, and the message reads as having no
    delivery, when an outer join found none)."""
    state = row if delivery is None else delivery
    return OutboxMessage(
        id=row["id"],
        topic=row["topic"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        payload=dict(row["payload"]),
        origin=row["origin"],
        created_at=row["created_at"],
        subscriber=state.get("subscriber"),
        attempts=state.get("attempts") or 0,
        next_attempt_at=state.get("next_attempt_at"),
        delivered_at=state.get("delivered_at"),
        failed_at=state.get("failed_at"),
        last_error=state.get("last_error"),
    )


def token_from_row(row: RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        token_hash=row["token_hash"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        scopes=TokenScope.closure(
            TokenScope(word) for word in row["scopes"].split() if word in _SCOPE_WORDS
        ),
        expires_at=row["expires_at"],
    )


def attachment_values(attachment: Attachment) -> dict[str, Any]:
    return {
        "client_id": attachment.client_id,
        "document_id": attachment.document_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "created_by": attachment.created_by,
    }


def attachment_from_row(row: RowMapping) -> Attachment:
    return Attachment(
        id=row["id"],
        client_id=row["client_id"],
        document_id=row["document_id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )
