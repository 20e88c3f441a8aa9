"""The two built-in mailers: a local folder of ``.eml`` files (the embedded default, handy in
development and demos) and SMTP (``settings.smtp``)."""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from cabinet_core.mail import MailError, MailMessage
from cabinet_core.settings import SmtpSettings


def content_language(language: str) -> str:
    """The ``Content-Language`` value (RFC 3282) for a cabinet language ("pl+en" → "pl, en")."""
    return ", ".join(part.strip() for part in language.split("+") if part.strip())


def build_mime(message: MailMessage, *, default_sender: str) -> EmailMessage:
    """The RFC 5322 message: a UTF-8 text body and each attachment as its own part."""
    if not message.to:
        raise MailError("a message needs at least one recipient")
    mime = EmailMessage()
    mime["Subject"] = message.subject
    mime["From"] = message.sender or default_sender
    mime["To"] = ", ".join(message.to)
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    mime["Date"] = format_datetime(datetime.now(UTC))
    mime["Message-ID"] = make_msgid(domain=(message.sender or default_sender).rpartition("@")[2])
    mime.set_content(message.body, charset="utf-8")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        mime.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    # Last: set_content() and the switch to multipart move Content-* headers into the parts.
    mime["Content-Language"] = content_language(message.language)
    return mime


class FolderMailer:
    """Writes every message as an ``.eml`` file into a folder instead of sending it.

    Each file appears whole or not at all (written aside, then renamed), so a reader watching
    the folder never sees half a message.
    """

    name = "folder"

    def __init__(self, folder: Path, *, sender: str = "cabinet@localhost") -> None:
        self.folder = folder
        self.sender = sender

    def send(self, message: MailMessage) -> None:
        """Store ``message`` as ``<UTC time>-<random>.eml``; :class:`MailError` on I/O errors."""
        data = build_mime(message, default_sender=self.sender).as_bytes()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise MailError(f"cannot write the message to {self.folder}: {error}") from error


class SmtpMailer:
    """Hands messages to an SMTP server (implicit TLS, STARTTLS or plain, optional login)."""

    name = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.ssl_context = ssl_context

    def _connect(self) -> smtplib.SMTP:
        smtp = self.settings
        context = self.ssl_context or ssl.create_default_context()
        if smtp.ssl:
            return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=self.timeout, context=context)
        connection = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
        if smtp.starttls:
            connection.starttls(context=context)
        return connection

    def send(self, message: MailMessage) -> None:
        """Send ``message``; any refusal or network failure becomes :class:`MailError`."""
        mime = build_mime(message, default_sender=self.settings.sender)
        try:
            with self._connect() as connection:
                if self.settings.username:
                    connection.login(self.settings.username, self.settings.password or "")
                refused = connection.send_message(mime)
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(f"SMTP delivery failed: {error}") from error
        if refused:
            raise MailError(f"SMTP server refused recipients: {sorted(refused)}")
