"""Reading the audit trail (staff only; a manager sees their own clients' entries)."""

from __future__ import annotations

import builtins

from cabinet_core import access
from cabinet_core.entities import Actor, AuditEntry
from cabinet_core.errors import N_, NotFound
from cabinet_core.services._base import Service

#: A document's history is short; this only bounds a pathological one.
HISTORY_LIMIT = 500


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
