"""``cabinet.dashboard``: what each user's home page shows, in one call and a few aggregate
statements.

* an accountant or an admin: the firm's queue across every client (documents waiting for
  approval per type, returned ones, overdue receivables, KSeF rejections and waiting sends,
  failed CRM and mail deliveries, unread chat) and the clients, those with most waiting first;
  once clients are assigned to accountants, an accountant's queue holds the clients assigned
  to them and those assigned to no accountant;
* a manager: the same for the clients assigned to them, every one of them listed;
* a client's user: its money picture and what waits for it (returned documents, KSeF
  rejections, unread chat).

Which documents count is the document types' declaration (``review_states``,
``returned_states``, ``vat_register`` with ``vat_register_states`` and ``client_is_buyer``);
nothing here knows a type by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cabinet_core import access
from cabinet_core.dashboard import (
    Attention,
    ClientAttention,
    Dashboard,
    DocumentSelection,
    MoneyPicture,
)
from cabinet_core.doctypes import DocumentType
from cabinet_core.doctypes.common import KSEF_REJECTED_STATE
from cabinet_core.entities import Actor, Role
from cabinet_core.ksef.submission import KsefState
from cabinet_core.money import round_money
from cabinet_core.services._base import Service
from cabinet_core.storage import Tx

__all__ = ["DashboardService"]

#: KSeF states in which an invoice is on its way (not yet accepted, not rejected).
KSEF_WAITING = (KsefState.QUEUED, KsefState.SENT, KsefState.OFFLINE)
#: The notification kind of a chat message (``cabinet.chat``).
CHAT_KIND = "chat.message"
#: The KSeF submissions list (cabinet-web's page, linked as the documents list is).
KSEF_LIST = "/ksef/submissions"
#: A staff dashboard lists at most this many clients with something waiting.
MAX_CLIENT_ROWS = 100
_WARSAW = "Europe/Warsaw"


class DashboardService(Service):
    """``cabinet.dashboard``: :meth:`for_actor` is the whole home page's data."""

    def today(self) -> date:
        """Today in Poland by the store's clock (overdue means due before this day)."""
        now = self.now()
        try:
            return now.astimezone(ZoneInfo(_WARSAW)).date()
        except ZoneInfoNotFoundError:  # pragma: no cover - systems without a tz database
            return now.date()

    def for_actor(self, actor: Actor) -> Dashboard:
        """The dashboard of the acting user (its role decides which)."""
        user_id = access.require_user(actor)
        today = self.today()
        with self.store.transaction(readonly=True) as tx:
            if actor.role is Role.CLIENT:
                return self._client(tx, actor, user_id, today)
            return self._staff(tx, actor, user_id, today)

    # -- selections from the types' declarations -------------------------------------------
    def _types(self) -> Mapping[str, DocumentType]:
        return self.cabinet.document_types

    def _review(self) -> dict[str, DocumentSelection]:
        """One selection per type that has documents waiting for the firm."""
        return {
            key: DocumentSelection(doc_types=(key,), statuses=tuple(sorted(dt.review_states)))
            for key, dt in self._types().items()
            if dt.review_states
        }

    def _returned(self) -> DocumentSelection:
        types = {k: dt for k, dt in self._types().items() if dt.returned_states}
        return DocumentSelection(
            doc_types=tuple(types),
            statuses=tuple(sorted({s for dt in types.values() for s in dt.returned_states})),
        )

    def _ksef_rejected(self) -> DocumentSelection:
        """Documents KSeF refused: the types whose workflow has the ``ksef_rejected`` state."""
        key = KSEF_REJECTED_STATE.key
        types = tuple(
            k for k, dt in self._types().items() if any(s.key == key for s in dt.workflow.states)
        )
        return DocumentSelection(doc_types=types, statuses=(key,) if types else ())

    def _register(
        self,
        register: str,
        *,
        client_is_buyer: bool,
        unpaid: bool = False,
        due_before: date | None = None,
        due_from: date | None = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
    ) -> DocumentSelection:
        """The documents of the ``register`` VAT register in the states that count there, of
        the types on the client's buying (payables) or selling (receivables) side."""
        types = {
            k: dt
            for k, dt in self._types().items()
            if dt.vat_register == register and dt.client_is_buyer is client_is_buyer
        }
        return DocumentSelection(
            doc_types=tuple(types),
            statuses=tuple(sorted({s for dt in types.values() for s in dt.vat_register_states})),
            unpaid=unpaid,
            due_before=due_before,
            due_from=due_from,
            issued_from=issued_from,
            issued_to=issued_to,
        )

    def _receivables(self, **filters: date | bool | None) -> DocumentSelection:
        return self._register("sales", client_is_buyer=False, **filters)  # type: ignore[arg-type]

    def _payables(self, **filters: date | bool | None) -> DocumentSelection:
        return self._register("purchase", client_is_buyer=True, **filters)  # type: ignore[arg-type]

    # -- staff ---------------------------------------------------------------------------
    def _staff(self, tx: Tx, actor: Actor, user_id: int, today: date) -> Dashboard:
        visible = access.visible_client_ids(tx, actor)
        if actor.role is Role.ACCOUNTANT and tx.clients_assigned_to_accountants():
            # An accountant's queue: the clients assigned to them and those assigned to nobody.
            visible = tuple(
                c.id for c in tx.list_clients(accountant_id=user_id) if c.id is not None
            )
        review = self._review()
        returned = self._returned()
        overdue = self._receivables(due_before=today)
        rejected = self._ksef_rejected()
        selections: dict[str, DocumentSelection] = {
            **{f"review:{key}": sel for key, sel in review.items()},
            "returned": returned,
            "overdue_receivables": overdue,
            "ksef_rejected": rejected,
        }
        counts = tx.dashboard.document_counts(selections, client_ids=visible)

        def total(name: str) -> int:
            return sum(row.get(name, 0) for row in counts.values())

        attention: list[Attention] = [
            Attention(
                key="review",
                count=total(f"review:{key}"),
                link=sel.link(),
                doc_type=key,
            )
            for key, sel in review.items()
        ]
        attention.append(Attention(key="returned", count=total("returned"), link=returned.link()))
        attention.append(
            Attention(
                key="overdue_receivables",
                count=total("overdue_receivables"),
                link=overdue.link(),
            )
        )
        ksef = tx.dashboard.ksef_states(client_ids=visible)
        attention.append(
            Attention(
                key="ksef_rejected",
                count=ksef.get(KsefState.REJECTED.value, 0),
                link=f"{KSEF_LIST}?state={KsefState.REJECTED.value}",
            )
        )
        attention.append(
            Attention(
                key="ksef_waiting",
                count=sum(ksef.get(s.value, 0) for s in KSEF_WAITING),
                link=KSEF_LIST + "?" + "&".join(f"state={s.value}" for s in KSEF_WAITING),
            )
        )
        unread = tx.dashboard.unread_notifications(user_id)
        attention.append(Attention(key="unread_chat", count=unread.get(CHAT_KIND, 0), link="/chat"))
        if access.sees_all_clients(actor):
            # Deliveries belong to no one client: the firm-wide queue shows them.
            for subscriber, failed in tx.dashboard.failed_deliveries().items():
                attention.append(
                    Attention(
                        key="failed_deliveries",
                        count=failed,
                        link="/settings",
                        subscriber=subscriber,
                    )
                )
        return Dashboard(
            role=actor.role,
            today=today,
            attention=tuple(attention),
            clients=self._client_rows(tx, actor, visible, counts, review),
        )

    def _client_rows(
        self,
        tx: Tx,
        actor: Actor,
        visible: tuple[int, ...] | None,
        counts: Mapping[int, Mapping[str, int]],
        review: Mapping[str, DocumentSelection],
    ) -> tuple[ClientAttention, ...]:
        """The clients the staff member looks after, those with the most waiting first (the
        firm-wide roles: the clients with something waiting, then the others by name, at most
        :data:`MAX_CLIENT_ROWS`)."""
        if visible is not None:
            ids: list[int] = list(visible)
            names = tx.dashboard.client_names(ids)
        else:
            names = tx.dashboard.client_names(list(counts))
            names.update(tx.dashboard.first_clients(MAX_CLIENT_ROWS))
            ids = list(names)
        rows = []
        for client_id in ids:
            row = counts.get(client_id, {})
            rows.append(
                ClientAttention(
                    client_id=client_id,
                    name=names.get(client_id, ""),
                    review=sum(row.get(f"review:{key}", 0) for key in review),
                    returned=row.get("returned", 0),
                    overdue_receivables=row.get("overdue_receivables", 0),
                    ksef_rejected=row.get("ksef_rejected", 0),
                )
            )
        rows.sort(key=lambda r: (-r.total, r.name.casefold(), r.client_id))
        return tuple(rows[:MAX_CLIENT_ROWS])

    # -- a client's user -------------------------------------------------------------------
    def _client(self, tx: Tx, actor: Actor, user_id: int, today: date) -> Dashboard:
        client_id = actor.client_id
        assert client_id is not None  # a client's user always belongs to one
        month_start = today.replace(day=1)
        month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        returned = self._returned()
        rejected = self._ksef_rejected()
        selections = {
            "receivables_due": (self._receivables(due_from=today), "gross"),
            "receivables_overdue": (self._receivables(due_before=today), "gross"),
            "payables_due": (self._payables(due_from=today), "gross"),
            "payables_overdue": (self._payables(due_before=today), "gross"),
            "sales_month": (
                self._receivables(issued_from=month_start, issued_to=month_end),
                "net",
            ),
            "costs_month": (
                self._payables(issued_from=month_start, issued_to=month_end),
                "net",
            ),
            "returned": (returned, "gross"),
            "ksef_rejected": (rejected, "gross"),
        }
        sums = tx.dashboard.document_sums(selections, client_id=client_id)

        def pln(name: str) -> Decimal:
            return round_money(sums[name][1], "PLN")

        money = MoneyPicture(
            month=month_start,
            receivables_due=pln("receivables_due"),
            receivables_due_count=sums["receivables_due"][0],
            receivables_overdue=pln("receivables_overdue"),
            receivables_overdue_count=sums["receivables_overdue"][0],
            payables_due=pln("payables_due"),
            payables_due_count=sums["payables_due"][0],
            payables_overdue=pln("payables_overdue"),
            payables_overdue_count=sums["payables_overdue"][0],
            sales_month=pln("sales_month"),
            costs_month=pln("costs_month"),
            links={
                "receivables": self._receivables(unpaid=True).link(),
                "receivables_overdue": self._receivables(due_before=today).link(),
                "payables": self._payables(unpaid=True).link(),
                "payables_overdue": self._payables(due_before=today).link(),
                "sales_month": selections["sales_month"][0].link(),
                "costs_month": selections["costs_month"][0].link(),
            },
        )
        unread = tx.dashboard.unread_notifications(user_id)
        attention = (
            Attention(key="returned", count=sums["returned"][0], link=returned.link()),
            Attention(key="ksef_rejected", count=sums["ksef_rejected"][0], link=rejected.link()),
            Attention(
                key="unread_chat",
                count=unread.get(CHAT_KIND, 0),
                link=f"/chat/{client_id}",
            ),
            Attention(
                key="unread_notifications",
                count=sum(unread.values()),
                link="/notifications",
            ),
        )
        return Dashboard(role=actor.role, today=today, attention=attention, money=money)
