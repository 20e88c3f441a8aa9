"""Settings kept in the database (CRM field mapping, automatic template choices …)."""

from __future__ import annotations

from typing import Any

from cabinet_core import access
from cabinet_core.converter import json_value
from cabinet_core.entities import Actor
from cabinet_core.errors import N_, ValidationError
from cabinet_core.services._base import Service


class SettingsStoreService(Service):
    """``cabinet.settings_store``: staff read, admins write; every change is audited."""

    def get(self, actor: Actor, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default``."""
        access.require(access.can_read_settings(actor))
        with self.store.transaction(readonly=True) as tx:
            return tx.get_setting(key, default)

    def set(self, actor: Actor, key: str, value: Any, *, secret: bool = False) -> None:
        """Store a JSON value under ``key``.

        A ``secret`` (a token, a password) is audited as changed, never with its old or new
        value: the audit trail is read by every admin and kept for years.
        """
        access.require(access.can_change_settings(actor))
        if not key.strip():
            raise ValidationError.single("key", "required", N_("This field is required."))
        try:
            stored = json_value(value)
        except TypeError:
            raise ValidationError.single(
                "value", "not_json", N_("This value cannot be stored.")
            ) from None
        with self.store.transaction() as tx:
            old = tx.get_setting(key)
            if old == stored:
                return  # not a change: nothing to write or audit
            tx.set_setting(key, stored)
            self.record(
                tx,
                actor,
                action="settings.set",
                entity="setting",
                entity_id=None,
                client_id=None,
                detail=(
                    {"key": key, "secret": True}
                    if secret
                    else {"key": key, "old": old, "new": stored}
                ),
            )
