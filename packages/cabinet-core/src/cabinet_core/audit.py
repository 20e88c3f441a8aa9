"""The audit log as people read it: the filters of a search and each action in words.

Entries are written by the services (:meth:`cabinet_core.services._base.Service.record`) and
never changed: nothing in the cabinet updates or deletes an ``audit_log`` row.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from cabinet_core.errors import N_

__all__ = [
    "ACTION_LABELS",
    "ENTITY_LABELS",
    "FIRM_TIME_ZONE",
    "AuditFilter",
    "action_label",
    "entity_label",
]

#: Dates of a search are the firm's days (Poland), entries are stored in UTC.
FIRM_TIME_ZONE = ZoneInfo("Europe/Warsaw")


@attrs.frozen(kw_only=True)
class AuditFilter:
    """What an audit search asks for; every field narrows (``None``/empty: no condition).

    ``text`` is looked for, case-insensitively, in the action, the entity, the details, the
    address, the browser and the acting user's name and e-mail.
    """

    actor_id: int | None = None
    client_id: int | None = None
    entity: str | None = None
    entity_id: int | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None
    text: str = ""

    def since_instant(self) -> datetime | None:
        """The start of :attr:`since` in the firm's time zone."""
        if self.since is None:
            return None
        return datetime.combine(self.since, time.min, FIRM_TIME_ZONE)

    def until_instant(self) -> datetime | None:
        """The end (exclusive) of :attr:`until`: the start of the next day."""
        if self.until is None:
            return None
        return datetime.combine(self.until + timedelta(days=1), time.min, FIRM_TIME_ZONE)


#: What each entity is called on the page and in the CSV.
ENTITY_LABELS: dict[str, str] = {
    "client": N_("Client"),
    "user": N_("User"),
    "document": N_("Document"),
    "counterparty": N_("Counterparty"),
    "product": N_("Product"),
    "attachment": N_("Attachment"),
    "api_token": N_("API token"),
    "news": N_("News"),
    "chat_message": N_("Chat"),
    "setting": N_("Setting"),
    "cash_desk": N_("Cash desk"),
    "cash_slip": N_("Cash slip"),
    "cash_desk_report": N_("Cash report"),
    "contract_template": N_("Contract template"),
    "ksef_submission": N_("KSeF"),
    "outbox": N_("Delivery"),
}

#: Each action key recorded by the cabinet, in words; :func:`action_label` composes the rest.
ACTION_LABELS: dict[str, str] = {
    "login": N_("Signed in"),
    "client.create": N_("Client created"),
    "client.update": N_("Client changed"),
    "client.set_preferences": N_("Client's preferences changed"),
    "client.assign_templates": N_("Client's templates assigned"),
    "user.create": N_("User created"),
    "user.deactivate": N_("User deactivated"),
    "user.set_password": N_("Password changed"),
    "user.generate_password": N_("Password generated"),
    "user.set_language": N_("Language changed"),
    "token.create": N_("API token created"),
    "token.revoke": N_("API token revoked"),
    "document.create": N_("Document created"),
    "document.update": N_("Document changed"),
    "document.delete": N_("Document deleted"),
    "document.transition": N_("Document moved in its workflow"),
    "document.send": N_("Document sent by e-mail"),
    "document.send_skipped": N_("Document not sent"),
    "document.cash_payment": N_("Document paid in cash"),
    "document.crm_status": N_("Status changed in the CRM"),
    "document.crm_payment": N_("Payment recorded in the CRM"),
    "vat_marked": N_("VAT register marks changed"),
    "attachment.add": N_("Attachment added"),
    "attachment.delete": N_("Attachment deleted"),
    "counterparty.create": N_("Counterparty created"),
    "counterparty.update": N_("Counterparty changed"),
    "counterparty.delete": N_("Counterparty deleted"),
    "product.create": N_("Product created"),
    "product.update": N_("Product changed"),
    "product.delete": N_("Product deleted"),
    "news.publish": N_("News published"),
    "news.update": N_("News changed"),
    "news.delete": N_("News deleted"),
    "chat.post": N_("Chat message sent"),
    "chat.receive": N_("Chat message received"),
    "settings.set": N_("Setting changed"),
    "branding.update": N_("Branding changed"),
    "branding.logo": N_("Logo uploaded"),
    "branding.logo_removed": N_("Logo removed"),
    "mail.test": N_("Test e-mail queued"),
    "sync.requeue": N_("CRM delivery retried"),
    "cash.desk_added": N_("Cash desk added"),
    "cash.report_opened": N_("Cash report opened"),
    "cash.report_moved": N_("Cash report moved"),
    "contract_template.create": N_("Contract template created"),
    "contract_template.update": N_("Contract template changed"),
    "ksef.enabled": N_("KSeF switched on or off"),
    "ksef.queued": N_("Queued for KSeF"),
    "ksef.sent": N_("Sent to KSeF"),
    "ksef.accepted": N_("Accepted by KSeF"),
    "ksef.rejected": N_("Rejected by KSeF"),
    "ksef.offline": N_("Issued offline for KSeF"),
    "ksef.requeued": N_("Sent to KSeF again"),
    "ksef.attempt_failed": N_("KSeF attempt failed"),
    "ksef.upo_stored": N_("KSeF receipt (UPO) stored"),
    "ksef.received": N_("Received from KSeF"),
    "ksef.manual_number": N_("KSeF number entered"),
}

#: The last word of an action key not in :data:`ACTION_LABELS` (a plugin's or a workflow's).
_VERB_LABELS: dict[str, str] = {
    "create": N_("created"),
    "update": N_("changed"),
    "delete": N_("deleted"),
    "append": N_("added"),
    "recalculate": N_("recalculated"),
    "issue": N_("issued"),
}


def entity_label(entity: str) -> str:
    """The msgid naming ``entity`` (the key itself when unknown)."""
    return ENTITY_LABELS.get(entity, entity)


def action_label(action: str, entity: str) -> tuple[str, str | None]:
    """How to say ``action`` done to ``entity``: a msgid, and a second msgid to join after it
    (``None`` when one says it all). The caller translates both."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action], None
    verb = action.rsplit(".", 1)[-1]
    if verb in _VERB_LABELS:
        return entity_label(entity), _VERB_LABELS[verb]
    return action, None
