"""Reading the audit trail (staff only; a manager sees their own clients' entries)."""

from __future__ import annotations

import builtins

from cabinet_core import access
from cabinet_core.entities import Actor, AuditEntry
from cabinet_core.services._base import Service


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
