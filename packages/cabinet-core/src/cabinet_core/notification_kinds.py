"""The kinds of notification a user may also receive by e-mail, with what the preferences
section of the profile calls them. Every kind is e-mailed unless the user turned it off."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cabinet_core.errors import N_

__all__ = ["EMAIL_KINDS"]

#: kind → its label (a gettext message id).
EMAIL_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "document.submitted": N_("A document waits for the firm (a cost invoice submitted)"),
        "document.status_changed": N_(
            "A document of your company moved on (approved, returned, booked, paid)"
        ),
        "chat.message": N_("A chat message left unread for 10 minutes"),
        "news.important": N_("Important news from the firm"),
        "delivery.failed": N_("A delivery to the CRM, KSeF or by e-mail failed (admins)"),
    }
)
