"""The notes each document type starts with: the firm's standard text for that type's printout
("Payment within 14 days to the account above", a contract's closing clause …).

Admins write one text per document type on the document notes settings page; a new document of
that type opens with it in its notes, which are printed on its PDF. The author may change or
clear it before saving; documents already saved keep theirs. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping

from cabinet_core import access
from cabinet_core.entities import Actor, Document
from cabinet_core.errors import N_, FieldError
from cabinet_core.limits import text_limits
from cabinet_core.services._base import Service, raise_if

#: The settings row: ``{doc_type: text}``.
DEFAULT_NOTES_KEY = "documents.default_notes"
#: The longest text (what a document's notes may hold, else 2,000 characters).
MAX_LENGTH = text_limits(Document).get("notes", 2000)


class DocumentNotesService(Service):
    """``cabinet.document_notes``: what a new document's notes start with, per type."""

    def _stored(self) -> dict[str, str]:
        with self.store.transaction(readonly=True) as tx:
            value = tx.get_setting(DEFAULT_NOTES_KEY) or {}
        return {str(key): str(text) for key, text in dict(value).items()}

    def for_type(self, doc_type: str) -> str:
        """The notes a new document of ``doc_type`` starts with (empty: none)."""
        return self._stored().get(doc_type, "")

    def all(self, actor: Actor) -> dict[str, str]:
        """Every type's text (admins)."""
        access.require(access.can_change_settings(actor))
        return self._stored()

    def set_all(self, actor: Actor, texts: Mapping[str, str]) -> dict[str, str]:
        """Replace the texts of the types given (an empty text removes that type's); a type the
        cabinet does not know or a text longer than a document's notes is a field error."""
        access.require(access.can_change_settings(actor))
        errors: list[FieldError] = []
        for doc_type, text in texts.items():
            if doc_type not in self.cabinet.document_types:
                errors.append(
                    FieldError(
                        field=doc_type, code="unknown", message=N_("Choose a document type.")
                    )
                )
            elif len(text.strip()) > MAX_LENGTH:
                errors.append(
                    FieldError(
                        field=doc_type,
                        code="too_long",
                        message=N_("This is too long (at most %(limit)s characters)."),
                        params={"limit": MAX_LENGTH},
                    )
                )
        raise_if(errors)
        with self.store.transaction() as tx:
            old = {str(k): str(v) for k, v in dict(tx.get_setting(DEFAULT_NOTES_KEY) or {}).items()}
            new = dict(old)
            for doc_type, text in texts.items():
                if text.strip():
                    new[doc_type] = text.strip()
                else:
                    new.pop(doc_type, None)
            if new != old:
                tx.set_setting(DEFAULT_NOTES_KEY, new)
                self.record(
                    tx,
                    actor,
                    action="settings.set",
                    entity="setting",
                    entity_id=None,
                    client_id=None,
                    detail={"key": DEFAULT_NOTES_KEY, "old": old, "new": new},
                )
        return new


__all__ = ["DEFAULT_NOTES_KEY", "MAX_LENGTH", "DocumentNotesService"]
