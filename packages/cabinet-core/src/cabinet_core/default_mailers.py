"""The built-in mailers, registered through the same hook a plugin uses:
``folder`` (the embedded default: ``settings.mail_dir``) and ``smtp`` (``settings.smtp``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cabinet_core.configuration import Problem
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.mail import MailMessage
from cabinet_core.mailers import FolderMailer, SmtpMailer

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.settings import Settings


def folder_mailer(cabinet: Cabinet) -> FolderMailer:
    """Mail written as ``.eml`` files under the data directory."""
    return FolderMailer(cabinet.settings.mail_dir, sender=cabinet.settings.smtp.sender)


class StoredSettingsSmtpMailer(SmtpMailer):
    """SMTP with the settings in force at each message: an admin's change on the mail settings
    page reaches a running worker without a restart (the environment still wins).
    ``settings`` holds the installation's own, as configured."""

    def __init__(self, cabinet: Cabinet) -> None:
        super().__init__(cabinet.settings.smtp)
        self.cabinet = cabinet

    def send(self, message: MailMessage) -> None:
        """Send ``message`` with :meth:`MailSettingsService.effective_smtp` of now."""
        current = SmtpMailer(
            self.cabinet.mail_settings.effective_smtp(),
            timeout=self.timeout,
            ssl_context=self.ssl_context,
        )
        current.send(message)


def smtp_mailer(cabinet: Cabinet) -> StoredSettingsSmtpMailer:
    """Mail sent through the configured SMTP server."""
    return StoredSettingsSmtpMailer(cabinet)


@hookimpl
def register_mailers(register: Register) -> None:
    """Register ``folder`` and ``smtp``."""
    register("folder", folder_mailer)
    register("smtp", smtp_mailer)


@hookimpl
def check_configuration(settings: Settings) -> list[Problem]:
    """With ``CABINET_MAILER=smtp``: a server to send through, a port that exists, and one way
    of encryption (implicit TLS or STARTTLS, not both)."""
    if settings.mailer != "smtp":
        return []
    smtp = settings.smtp
    problems: list[Problem] = []
    if not smtp.host.strip():
        problems.append(Problem("CABINET_SMTP_HOST", "is empty; the smtp mailer needs a server"))
    if not 0 < smtp.port < 65536:
        problems.append(Problem("CABINET_SMTP_PORT", f"not a port number: {smtp.port}"))
    if smtp.ssl and smtp.starttls:
        problems.append(
            Problem("CABINET_SMTP_STARTTLS", "set together with CABINET_SMTP_SSL; choose one")
        )
    if "@" not in smtp.sender:
        problems.append(Problem("CABINET_SMTP_SENDER", f"not an e-mail address: {smtp.sender!r}"))
    return problems
