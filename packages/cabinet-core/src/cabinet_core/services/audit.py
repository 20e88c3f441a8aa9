"""Reading the audit trail (staff only; a manager sees their own clients' entries).

The audit log is read-only here by design: no service updates or deletes an entry.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from cabinet_core import access
from cabinet_core.audit import AuditFilter
from cabinet_core.entities import Actor, AuditEntry, Client, User
from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from cabinet_core.services._base import Service

if TYPE_CHECKING:
    from cabinet_core.storage import Tx

#: A document's history is short; this only bounds a pathological one.
HISTORY_LIMIT = 500
#: The most entries one page of the audit log shows.
PAGE_LIMIT = 200
#: Entries read per transaction while exporting (the export never holds the whole log).
EXPORT_BATCH = 500


@attrs.frozen(kw_only=True)
class AuditRecord:
    """An audit entry with the names a person reads: who acted, for which client."""

    entry: AuditEntry
    actor_name: str = ""
    actor_email: str = ""
    client_name: str = ""


@attrs.frozen(kw_only=True)
class AuditPage:
    """One page of an audit search: its records, newest first, and how many match in all."""

    records: tuple[AuditRecord, ...]
    total: int
    offset: int
    limit: int


@attrs.frozen(kw_only=True)
class AuditChoices:
    """What the audit log's filters offer ``actor``: the clients and users it may pick."""

    clients: tuple[Client, ...]
    users: tuple[User, ...]


class AuditService(Service):
    """``cabinet.audit``: who did what, newest first."""

    def list(
        self,
        actor: Actor,
        *,
        entity: str | None = None,
        entity_id: int | None = None,
        client_id: int | None = None,
        limit: int = 100,
    ) -> builtins.list[AuditEntry]:
        """Audit entries filtered by entity and/or client, as far as the actor may see."""
        access.require(access.can_read_audit(actor))
        with self.store.transaction(readonly=True) as tx:
            if client_id is not None:
                access.client_for(tx, actor, client_id)
            visible = access.visible_client_ids(tx, actor)
            entries = tx.list_audit(
                entity=entity, entity_id=entity_id, client_id=client_id, limit=max(1, limit)
            )
        if visible is None:
            return entries
        return [entry for entry in entries if entry.client_id in visible]

    def search(
        self, actor: Actor, audit_filter: AuditFilter, *, offset: int = 0, limit: int = 50
    ) -> AuditPage:
        """The audit log page: entries matching ``audit_filter``, newest first, as far as
        ``actor`` may search (admins everything, a manager their clients' entries)."""
        self._check(audit_filter)
        limit = min(max(1, limit), PAGE_LIMIT)
        offset = max(0, offset)
        with self.store.transaction(readonly=True) as tx:
            client_ids = self._scope(tx, actor, audit_filter)
            total = tx.count_audit(audit_filter, client_ids=client_ids)
            entries = tx.search_audit(
                audit_filter, client_ids=client_ids, offset=offset, limit=limit
            )
            records = _named(tx, entries)
        return AuditPage(records=tuple(records), total=total, offset=offset, limit=limit)

    def export(self, actor: Actor, audit_filter: AuditFilter) -> Iterator[AuditRecord]:
        """Every entry matching ``audit_filter`` that :meth:`search` would show, newest first,
        read in batches so a long log streams (access is checked before the first one)."""
        self._check(audit_filter)
        with self.store.transaction(readonly=True) as tx:
            client_ids = self._scope(tx, actor, audit_filter)
            # Entries written while exporting are newer than this one and stay out.
            first = tx.search_audit(audit_filter, client_ids=client_ids, limit=1)
        return self._batches(audit_filter, client_ids, first[0].id if first else None)

    def _batches(
        self, audit_filter: AuditFilter, client_ids: tuple[int, ...] | None, newest: int | None
    ) -> Iterator[AuditRecord]:
        if newest is None:
            return
        before = newest + 1
        while True:
            with self.store.transaction(readonly=True) as tx:
                entries = tx.search_audit(
                    audit_filter, client_ids=client_ids, before_id=before, limit=EXPORT_BATCH
                )
                records = _named(tx, entries)
            yield from records
            if len(entries) < EXPORT_BATCH:
                return
            last = entries[-1].id
            assert last is not None
            before = last

    def choices(self, actor: Actor) -> AuditChoices:
        """The clients and users ``actor`` may filter the audit log by."""
        with self.store.transaction(readonly=True) as tx:
            client_ids = access.audit_client_ids(tx, actor)
            if client_ids is None:
                return AuditChoices(clients=tuple(tx.list_clients()), users=tuple(tx.list_users()))
            clients = tuple(c for c in tx.list_clients() if c.id in client_ids)
            users = [u for u in tx.list_users() if u.client_id in client_ids]
            own = tx.get_user(actor.user_id) if actor.user_id is not None else None
            if own is not None:
                users.insert(0, own)
        return AuditChoices(clients=clients, users=tuple(users))

    def _scope(self, tx: Tx, actor: Actor, audit_filter: AuditFilter) -> tuple[int, ...] | None:
        """The clients ``actor``'s search covers; a client it may not see is "not found"."""
        client_ids = access.audit_client_ids(tx, actor)
        if audit_filter.client_id is not None:
            access.client_for(tx, actor, audit_filter.client_id)
        return client_ids

    @staticmethod
    def _check(audit_filter: AuditFilter) -> None:
        if (
            audit_filter.since is not None
            and audit_filter.until is not None
            and audit_filter.since > audit_filter.until
        ):
            raise ValidationError(
                [
                    FieldError(
                        field="until",
                        code="date_range",
                        message=N_("The end date cannot be before the start date."),
                    )
                ]
            )

    def document_history(self, actor: Actor, doc_id: int) -> builtins.list[tuple[AuditEntry, str]]:
        """What happened to one document (created, changed, moved along its workflow, with the
        comments), oldest first, each with the name of who did it.

        Unlike :meth:`list` this is for anyone who may see the document: a client follows its
        cost invoice through the accountant's approval.
        """
        with self.store.transaction(readonly=True) as tx:
            document = tx.get_document(doc_id)
            if document is None:
                raise NotFound(N_("Not found"), entity="document", id=doc_id)
            try:
                access.client_for(tx, actor, document.client_id)
            except NotFound:
                raise NotFound(N_("Not found"), entity="document", id=doc_id) from None
            entries = tx.list_audit(entity="document", entity_id=doc_id, limit=HISTORY_LIMIT)
            names: dict[int, str] = {}
            for entry in entries:
                if entry.actor_id is not None and entry.actor_id not in names:
                    user = tx.get_user(entry.actor_id)
                    names[entry.actor_id] = (user.name or user.email) if user else ""
        return [
            (entry, names.get(entry.actor_id, "") if entry.actor_id is not None else "")
            for entry in reversed(entries)
        ]


def _named(tx: Tx, entries: builtins.list[AuditEntry]) -> builtins.list[AuditRecord]:
    """``entries`` with their actors' and clients' names (each looked up once)."""
    users: dict[int, User | None] = {}
    clients: dict[int, Client | None] = {}
    records = []
    for entry in entries:
        user = None
        if entry.actor_id is not None:
            if entry.actor_id not in users:
                users[entry.actor_id] = tx.get_user(entry.actor_id)
            user = users[entry.actor_id]
        client = None
        if entry.client_id is not None:
            if entry.client_id not in clients:
                clients[entry.client_id] = tx.get_client(entry.client_id)
            client = clients[entry.client_id]
        records.append(
            AuditRecord(
                entry=entry,
                actor_name=(user.name or user.email) if user is not None else "",
                actor_email=user.email if user is not None else "",
                client_name=client.name if client is not None else "",
            )
        )
    return records
