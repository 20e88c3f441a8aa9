"""The folder and SMTP mailers; SMTP against a real aiosmtpd server on loopback."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cabinet_core.app import Cabinet
from cabinet_core.mail import Attachment, Mailer, MailError, MailMessage
from cabinet_core.mailers import FolderMailer, SmtpMailer, build_mime, content_language
from cabinet_core.settings import Settings, SmtpSettings
from cabinet_core.storage import Store

PDF = b"%PDF-1.7\n% faktura\n"
MESSAGE = MailMessage(
    to=("klient@alfa.example",),
    subject="Faktura FV/7/11/2026 — żółć",
    body="Dzień dobry,\nw załączniku faktura.\n",
    language="pl",
    attachments=(
        Attachment(filename="FV-7-11-2026.pdf", content=PDF, media_type="application/pdf"),
    ),
)


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _attachments(message: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]


class _Collector:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.event = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.event.set()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Collector, int]]:
    handler = _Collector()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_mime_has_subject_language_body_and_attachment() -> None:
    parsed = _parse(build_mime(MESSAGE, default_sender="biuro@firma.example").as_bytes())
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["From"] == "biuro@firma.example"
    assert parsed["Content-Language"] == "pl"
    body = parsed.get_body(("plain",))
    assert body is not None and "w załączniku faktura" in body.get_content()
    assert _attachments(parsed) == [("FV-7-11-2026.pdf", "application/pdf", PDF)]


def test_language_header_for_bilingual_mail() -> None:
    assert content_language("pl+en") == "pl, en"
    assert content_language("en") == "en"


def test_a_message_needs_a_recipient() -> None:
    with pytest.raises(MailError):
        build_mime(MailMessage(to=(), subject="s", body="b"), default_sender="a@b.example")


def test_smtp_mailer_delivers_to_a_real_server(smtp_server: tuple[_Collector, int]) -> None:
    handler, port = smtp_server
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, sender="biuro@firma.example"))
    english = MailMessage(
        to=("client@alfa.example", "copy@alfa.example"),
        subject="Invoice FV/7/11/2026",
        body="Please find the invoice attached.",
        language="en",
        reply_to="manager@firma.example",
        attachments=MESSAGE.attachments,
    )
    mailer.send(english)
    assert handler.event.wait(10)
    ((mail_from, rcpt_tos, data),) = handler.received
    assert mail_from == "biuro@firma.example"
    assert rcpt_tos == ["client@alfa.example", "copy@alfa.example"]
    parsed = _parse(data)
    assert parsed["Subject"] == "Invoice FV/7/11/2026"
    assert parsed["Content-Language"] == "en"
    assert parsed["Reply-To"] == "manager@firma.example"
    assert _attachments(parsed) == [("FV-7-11-2026.pdf", "application/pdf", PDF)]


def test_smtp_mailer_keeps_polish_subjects(smtp_server: tuple[_Collector, int]) -> None:
    handler, port = smtp_server
    SmtpMailer(SmtpSettings(host="127.0.0.1", port=port)).send(MESSAGE)
    assert handler.event.wait(10)
    parsed = _parse(handler.received[0][2])
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["Content-Language"] == "pl"


def test_smtp_failure_is_a_mail_error() -> None:
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=_free_port()), timeout=5)
    with pytest.raises(MailError, match="SMTP delivery failed"):
        mailer.send(MESSAGE)


def test_smtp_login_refused_by_a_server_without_auth(smtp_server: tuple[_Collector, int]) -> None:
    _, port = smtp_server
    settings = SmtpSettings(host="127.0.0.1", port=port, username="u", password="p")
    with pytest.raises(MailError):
        SmtpMailer(settings).send(MESSAGE)


def test_folder_mailer_writes_whole_eml_files(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    mailer = FolderMailer(folder, sender="biuro@firma.example")
    mailer.send(MESSAGE)
    mailer.send(MESSAGE)
    files = sorted(folder.iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    parsed = _parse(files[0].read_bytes())
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["Content-Language"] == "pl"
    assert _attachments(parsed) == [("FV-7-11-2026.pdf", "application/pdf", PDF)]


def test_folder_mailer_failure_is_a_mail_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(MailError):
        FolderMailer(blocker / "mail").send(MESSAGE)
    assert not list(tmp_path.glob("**/*.part"))


def test_settings_choose_the_registered_mailer(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    try:
        cabinet = Cabinet(Settings(data_dir=tmp_path), load_entrypoints=False, store=store)
        assert {"folder", "smtp"} <= set(cabinet.mailer_names)
        mailer = cabinet.mailer
        assert isinstance(mailer, FolderMailer) and isinstance(mailer, Mailer)
        mailer.send(MESSAGE)
        assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
        smtp_cabinet = Cabinet(
            Settings(data_dir=tmp_path, mailer="smtp", smtp=SmtpSettings(port=2525)),
            load_entrypoints=False,
            store=store,
        )
        assert isinstance(smtp_cabinet.mailer, SmtpMailer)
        assert smtp_cabinet.mailer.settings.port == 2525
    finally:
        store.close()
