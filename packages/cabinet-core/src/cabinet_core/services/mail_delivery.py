"""Mailing documents queued by ``cabinet.invoicing.send`` (outbox topic ``mail.document``).

The worker hands every ``mail.*`` outbox message to :meth:`MailDelivery.deliver`. It renders the
document's PDF (:func:`cabinet_core.printing.render`; a document whose type has a ``ksef_kind``
embeds its FA(3) XML, which is attached as a file of its own too, from the same
:func:`~cabinet_core.printing.view_of`), writes the
subject and body in the document's language (``pl``, ``en``, or both for ``pl+en``) and hands
the mail to ``cabinet.mailer``. Then an issued sales document moves ``issued → sent`` (system
actor, audited); a document already sent or paid keeps its state (a resend).

Failures: a :class:`~cabinet_core.mail.MailError` (server down, recipient refused) raises a
retryable :class:`~cabinet_core.crm.DeliveryError`, so the worker backs off and finally marks
the message failed, visible in ``cabinet.documents.deliveries``; a message whose document is
gone or may no longer be sent fails at once (retrying cannot help). Delivery is at least once:
a worker that dies after the mail left and before the outbox row is marked sends it again.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cabinet_core.crm import DeliveryError
from cabinet_core.entities import Actor, Client, Document, Notification
from cabinet_core.errors import CabinetError, NotFound
from cabinet_core.mail import Attachment, MailError, MailMessage
from cabinet_core.printing import render, view_of
from cabinet_core.services._base import Service
from cabinet_core.sync import Topic

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage

log = logging.getLogger("cabinet.mail")

#: What the mail says, per language; ``{title}`` is the document type's name.
_SUBJECT = {
    "pl": "{title} {number} — {seller}",
    "en": "{title} {number} — {seller}",
}
_BODY = {
    "pl": (
        "Dzień dobry,\n\n"
        "w załączniku przesyłamy dokument: {title} nr {number} z dnia {issue_date}.\n"
        "{amount_line}{due_line}{note}"
        "\nZ poważaniem\n{seller}\n"
    ),
    "en": (
        "Hello,\n\n"
        "please find attached: {title} no. {number} of {issue_date}.\n"
        "{amount_line}{due_line}{note}"
        "\nKind regards\n{seller}\n"
    ),
}
_AMOUNT = {
    "pl": "Kwota do zapłaty: {amount} {currency}.\n",
    "en": "Amount due: {amount} {currency}.\n",
}
_DUE = {"pl": "Termin płatności: {due}.\n", "en": "Payment due by: {due}.\n"}
_REQUEST_BODY = {
    "pl": (
        "Dzień dobry,\n\n"
        "prosimy o wystawienie faktury korygującej do faktury nr {original} z dnia "
        "{original_date}. Szczegóły w załączonej prośbie nr {number}:\n\n{reason}\n"
        "{note}\nZ poważaniem\n{buyer}\n"
    ),
    "en": (
        "Hello,\n\n"
        "we ask you to issue a correcting invoice for invoice no. {original} of "
        "{original_date}. The details are in the attached request no. {number}:\n\n{reason}\n"
        "{note}\nKind regards\n{buyer}\n"
    ),
}
_NOTE = {"pl": "\nWiadomość:\n{message}\n", "en": "\nMessage:\n{message}\n"}
_NOTIFICATION_BODY = {
    "pl": (
        "Dzień dobry,\n\n{text}\n\nSzczegóły: {link}\n\n"
        "Które powiadomienia przychodzą e-mailem, zmienisz w profilu: {profile}\n\n{firm}\n"
    ),
    "en": (
        "Hello,\n\n{text}\n\nDetails: {link}\n\n"
        "Choose which notifications reach you by e-mail in your profile: {profile}\n\n{firm}\n"
    ),
}


def _languages(language: str) -> tuple[str, ...]:
    parts = tuple(part for part in language.split("+") if part in ("pl", "en"))
    return parts or ("pl",)


def _amount(value: Decimal, language: str) -> str:
    text = f"{value:,.2f}"
    if language == "pl":
        # 1 234,56: the Polish way (a non-breaking space between thousands).
        return text.replace(",", "\u00a0").replace(".", ",")
    return text


#: The test e-mail's subject and text per language.
_TEST_TEXTS = {
    "pl": (
        "%(firm)s: testowa wiadomość",
        "To jest testowa wiadomość z gabinetu klienta %(firm)s.\n"
        "Skoro dotarła, ustawienia poczty działają.\n",
    ),
    "en": (
        "%(firm)s: test message",
        "This is a test message from the %(firm)s client cabinet.\n"
        "It arrived, so the mail settings work.\n",
    ),
}


def _permanent(reason: str) -> DeliveryError:
    return DeliveryError(reason, permanent=True)


class MailDelivery(Service):
    """``cabinet.mail_delivery``: the worker's handler for ``mail.*`` outbox messages."""

    def deliver(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        """Mail the document ``message`` names (or, for ``mail.notification``, the
        notification; ``mail.password_link`` and ``mail.test`` their own texts); raise
        :class:`DeliveryError` to retry or fail."""
        if message.topic == Topic.MAIL_PASSWORD_LINK:
            self._send_password_link(cabinet, message)
            return
        if message.topic == Topic.MAIL_TEST.value:
            self._deliver_test(cabinet, message)
            return
        if message.topic == Topic.MAIL_NOTIFICATION.value:
            self._deliver_notification(cabinet, message)
            return
        body: dict[str, Any] = dict(message.payload)
        doc_id = body.get("document_id")
        to = str(body.get("to") or "").strip()
        if not isinstance(doc_id, int) or not to:
            raise _permanent(f"malformed mail message {message.id}: {body!r}")
        with cabinet.store.transaction(readonly=True) as tx:
            document = tx.get_document(doc_id)
            client = tx.get_client(document.client_id) if document is not None else None
        if document is None or client is None:
            raise _permanent(f"document {doc_id} no longer exists")
        document_type = cabinet.document_types.get(document.doc_type)
        allowed = document_type.deliverable_states if document_type is not None else frozenset()
        if document.status not in allowed:
            raise _permanent(
                f"document {doc_id} ({document.doc_type}) cannot be sent in state "
                f"{document.status!r}"
            )
        language = str(body.get("language") or document.language)
        mail = self.compose(
            cabinet, document, client, to=to, note=str(body.get("message") or ""), language=language
        )
        try:
            cabinet.mailer.send(mail)
        except MailError as error:
            raise DeliveryError(str(error)) from error
        self._mark_sent(cabinet, document)

    def _send_password_link(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        """A "forgot password" or invitation link (``cabinet.password_links`` makes it)."""
        mail = cabinet.password_links.send(message)
        if mail is None:
            return
        try:
            cabinet.mailer.send(mail)
        except MailError as error:
            raise DeliveryError(str(error)) from error

    def _deliver_test(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        """Send the mail settings page's test e-mail (no document, a fixed short text)."""
        body: dict[str, Any] = dict(message.payload)
        to = str(body.get("to") or "").strip()
        if not to:
            raise _permanent(f"malformed test mail message {message.id}: {body!r}")
        language = "en" if body.get("language") == "en" else "pl"
        firm = cabinet.branding.effective().firm_name
        subject, text = _TEST_TEXTS[language]
        mail = MailMessage(
            to=(to,),
            subject=subject % {"firm": firm},
            body=text % {"firm": firm},
            language=language,
        )
        try:
            cabinet.mailer.send(mail)
        except MailError as error:
            raise DeliveryError(str(error)) from error

    def _deliver_notification(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        """E-mail a notification to its user, in the language the payload names."""
        body: dict[str, Any] = dict(message.payload)
        notification_id, to = body.get("notification_id"), str(body.get("to") or "").strip()
        if not isinstance(notification_id, int) or not to:
            raise _permanent(f"malformed mail message {message.id}: {body!r}")
        user_id = body.get("user_id")
        with cabinet.store.transaction(readonly=True) as tx:
            user = tx.get_user(user_id) if isinstance(user_id, int) else None
            found = (
                [n for n in tx.list_notifications(user.id, limit=200) if n.id == notification_id]
                if user is not None and user.id is not None
                else []
            )
        if user is None or not user.active or not found:
            raise _permanent(f"notification {notification_id} or its user is gone")
        mail = self.compose_notification(
            cabinet, found[0], to=to, language=str(body.get("language") or "pl")
        )
        try:
            cabinet.mailer.send(mail)
        except MailError as error:
            raise DeliveryError(str(error)) from error

    def compose_notification(
        self, cabinet: Cabinet, notification: Notification, *, to: str, language: str
    ) -> MailMessage:
        """The e-mail of one notification: its text, a link into the cabinet and where to turn
        such e-mails off."""
        language = language if language in _NOTIFICATION_BODY else "pl"
        base = cabinet.branding.public_url()
        firm = cabinet.branding.effective().firm_name
        subject = f"{firm}: {notification.text}"
        if len(subject) > 150:
            subject = subject[:149] + "…"
        text = _NOTIFICATION_BODY[language].format(
            text=notification.text,
            link=base + (notification.link or "/notifications"),
            profile=base + "/profile#notifications",
            firm=firm,
        )
        return MailMessage(to=(to,), subject=subject, body=text, language=language)

    def compose(
        self,
        cabinet: Cabinet,
        document: Document,
        client: Client,
        *,
        to: str,
        note: str = "",
        language: str | None = None,
    ) -> MailMessage:
        """The e-mail of ``document`` to ``to`` in ``language`` (default: the document's)."""
        language = language or document.language
        attachments = [self._pdf(cabinet, document, client, language)]
        xml = self._fa3(cabinet, document, client)
        if xml is not None:
            attachments.append(xml)
        languages = _languages(language)
        texts = [self._texts(cabinet, document, client, lang, note) for lang in languages]
        subject = " / ".join(dict.fromkeys(subject for subject, _ in texts))
        body = "\n— — —\n\n".join(text for _, text in texts)
        return MailMessage(
            to=(to,),
            subject=subject,
            body=body,
            reply_to=client.email or None,
            language=language,
            attachments=tuple(attachments),
        )

    def _texts(
        self, cabinet: Cabinet, document: Document, client: Client, language: str, note: str
    ) -> tuple[str, str]:
        document_type = cabinet.document_type(document.doc_type)
        title = document_type.label.get(language, document.doc_type)
        number = document.number or ""
        note_text = _NOTE[language].format(message=note.strip()) if note.strip() else ""
        if document_type.client_is_buyer:
            # The client writes to the seller as the buyer: a correction request.
            buyer = document.buyer.name if document.buyer is not None else client.name
            subject = _SUBJECT[language].format(title=title, number=number, seller=buyer)
            text = _REQUEST_BODY[language].format(
                original=document.extra.get("original_number", ""),
                original_date=document.extra.get("original_issue_date", ""),
                number=number,
                reason=str(document.extra.get("requested_correction", "")).strip(),
                note=note_text,
                buyer=buyer,
            )
            return subject, text
        seller = document.seller.name if document.seller is not None else client.name
        subject = _SUBJECT[language].format(title=title, number=number, seller=seller)
        amount_line = ""
        if document.totals is not None:
            amount_line = _AMOUNT[language].format(
                amount=_amount(document.totals.gross, language), currency=document.currency
            )
        due_line = (
            _DUE[language].format(due=document.due_date.isoformat())
            # A correction's due date is the corrected invoice's business, not this mail's.
            if document.due_date is not None and not document_type.corrects
            else ""
        )
        text = _BODY[language].format(
            title=title,
            number=number,
            issue_date=document.issue_date.isoformat(),
            amount_line=amount_line,
            due_line=due_line,
            note=note_text,
            seller=seller,
        )
        return subject, text

    def _pdf(
        self, cabinet: Cabinet, document: Document, client: Client, language: str
    ) -> Attachment:
        try:
            rendered = render(cabinet, document, client, language=language)
        except NotFound:
            raise _permanent(f"no PDF renderer for {document.doc_type}") from None
        return Attachment(
            filename=rendered.filename, content=rendered.content, media_type=rendered.media_type
        )

    def _fa3(self, cabinet: Cabinet, document: Document, client: Client) -> Attachment | None:
        """The FA(3) XML as the PDF embeds it, or ``None`` when the document has none or cannot
        be written as FA(3) (the PDF still goes; the XML download names the reasons)."""
        view = view_of(cabinet, document, client)
        if view.fa3_errors:
            log.warning(
                "document %s mailed without FA(3): %s",
                document.id,
                "; ".join(f"{e.field}: {e.message}" for e in view.fa3_errors),
            )
        if view.fa3 is None:
            return None
        return Attachment(
            filename=view.fa3.filename, content=view.fa3.content, media_type=view.fa3.media_type
        )

    def _mark_sent(self, cabinet: Cabinet, document: Document) -> None:
        """``issued → sent`` once the mail is out; a state that moved on meanwhile stays (the
        mail has left, so this must not fail the delivery and send it twice)."""
        if document.status != "issued" or document.id is None:
            return
        workflow = cabinet.document_type(document.doc_type).workflow
        if not any(t.key == "send" and "issued" in t.source for t in workflow.transitions):
            return
        try:
            cabinet.documents.transition(Actor.system(), document.id, "send")
        except CabinetError as error:
            log.info("document %s was not marked sent: %s", document.id, error.message)
