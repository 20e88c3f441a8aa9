"""The built-in mailers, registered through the same hook a plugin uses:
``folder`` (the embedded default: ``settings.mail_dir``) and ``smtp`` (``settings.smtp``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.mailers import FolderMailer, SmtpMailer

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet


def folder_mailer(cabinet: Cabinet) -> FolderMailer:
    """Mail written as ``.eml`` files under the data directory."""
    return FolderMailer(cabinet.settings.mail_dir, sender=cabinet.settings.smtp.sender)


def smtp_mailer(cabinet: Cabinet) -> SmtpMailer:
    """Mail sent through the configured SMTP server."""
    return SmtpMailer(cabinet.settings.smtp)


@hookimpl
def register_mailers(register: Register) -> None:
    """Register ``folder`` and ``smtp``."""
    register("folder", folder_mailer)
    register("smtp", smtp_mailer)
