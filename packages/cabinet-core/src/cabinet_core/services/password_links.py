"""Single-use links to set a password: "forgot password" and invitations.

A request only queues a ``mail.password_link`` outbox row (with an audit entry); the mail
delivery makes the link when it sends it (:meth:`PasswordLinkService.send`), so the secret is in
the e-mail and nowhere else: the database keeps its SHA-256, the expiry and whether it was used.
Asking for a reset answers the same whether the address is known or not, and nothing is queued
for an unknown, deactivated or over-asked address.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from cabinet_core.crm import DeliveryError
from cabinet_core.entities import Actor, User
from cabinet_core.errors import N_, ValidationError
from cabinet_core.identifiers import email_lookup_key
from cabinet_core.mail import MailMessage
from cabinet_core.password_policy import password_errors
from cabinet_core.services._base import Service
from cabinet_core.services.sessions import may_sign_in
from cabinet_core.signin import LinkPurpose, PasswordLink, secret_hash
from cabinet_core.sync import PasswordLinkRequest, Topic

if TYPE_CHECKING:
    from cabinet_core.entities import OutboxMessage

__all__ = ["LINK_PATH", "PasswordLinkService"]

#: Where a link leads: ``{public URL}/password/{secret}`` (the web's page; the public URL is
#: ``CABINET_BASE_URL``, else the branding's host name: ``BrandingService.public_url``).
LINK_PATH = "/password/"
#: "Forgot password" mails per address within ``settings.login_window_seconds``.
RESETS_PER_WINDOW = 3
LINK_INVALID = N_("This link has expired or was already used. Ask for a new one.")

_SUBJECT = {
    LinkPurpose.RESET: {"pl": "Ustaw nowe hasło — {firm}", "en": "Set a new password — {firm}"},
    LinkPurpose.INVITE: {
        "pl": "Zaproszenie do gabinetu klienta — {firm}",
        "en": "Your invitation to the client cabinet — {firm}",
    },
}
_BODY = {
    LinkPurpose.RESET: {
        "pl": (
            "Dzień dobry,\n\nktoś (zapewne Ty) poprosił o ustawienie nowego hasła do konta "
            "{email}. Otwórz ten link, by je ustawić (działa raz, do {expires} UTC):\n\n{url}\n\n"
            "Jeśli to nie Ty, zignoruj tę wiadomość: hasło się nie zmieni.\n\n{firm}\n"
        ),
        "en": (
            "Hello,\n\nsomeone (probably you) asked to set a new password for {email}. Open "
            "this link to set it (it works once, until {expires} UTC):\n\n{url}\n\n"
            "If it was not you, ignore this message: the password stays as it is.\n\n{firm}\n"
        ),
    },
    LinkPurpose.INVITE: {
        "pl": (
            "Dzień dobry,\n\nzapraszamy do gabinetu klienta {firm}. Twoje konto: {email}. "
            "Otwórz ten link, by ustawić hasło (działa raz, do {expires} UTC):\n\n{url}\n\n{firm}\n"
        ),
        "en": (
            "Hello,\n\nyou are invited to {firm}'s client cabinet. Your account: {email}. "
            "Open this link to set your password (it works once, until {expires} UTC):\n\n"
            "{url}\n\n{firm}\n"
        ),
    },
}


class PasswordLinkService(Service):
    """``cabinet.password_links``: ask for a reset, send a link, check it, use it."""

    def request_reset(self, email: str, *, remote: str = "") -> None:
        """Queue a reset link for ``email`` if it belongs to a user who may sign in.

        Returns nothing and raises nothing for any address: the caller's answer must not tell
        whether the address exists.
        """
        key = f"reset:{email.strip().lower()}"
        now = self.now()
        since = now - timedelta(seconds=self.cabinet.settings.login_window_seconds)
        with self.store.transaction() as tx:
            over = tx.count_failed_logins(key, since=since) >= RESETS_PER_WINDOW
            if not over:
                # Counted as "failed" attempts so the throttle's own query counts them; a
                # request refused is not counted, so nobody can keep the owner's mail away.
                tx.record_login_attempt(key, at=now, success=False)
            user = tx.get_user_by_email(email_lookup_key(email)) if "@" in email else None
            if over or user is None or user.id is None or not may_sign_in(tx, user):
                return
            self.record(
                tx,
                Actor.system(),
                action="user.request_reset",
                entity="user",
                entity_id=user.id,
                client_id=user.client_id,
                detail={"remote": remote},
                topic=Topic.MAIL_PASSWORD_LINK,
                message=PasswordLinkRequest(user_id=user.id, purpose=LinkPurpose.RESET.value),
            )

    def send(self, message: OutboxMessage) -> MailMessage | None:
        """Make the link of a ``mail.password_link`` message and the e-mail carrying it (in the
        user's language); ``None`` when there is nothing to send any more (the user is gone or
        deactivated). The caller hands the mail to the mailer."""
        user_id = message.payload.get("user_id")
        try:
            purpose = LinkPurpose(str(message.payload.get("purpose")))
        except ValueError:
            raise DeliveryError(
                f"malformed password link message {message.id}", permanent=True
            ) from None
        if not isinstance(user_id, int):
            raise DeliveryError(f"malformed password link message {message.id}", permanent=True)
        settings = self.cabinet.settings
        seconds = (
            settings.invitation_link_seconds
            if purpose is LinkPurpose.INVITE
            else settings.reset_link_seconds
        )
        secret = secrets.token_urlsafe(32)
        now = self.now()
        expires = now + timedelta(seconds=seconds)
        with self.store.transaction() as tx:
            user = tx.get_user(user_id)
            if user is None or not may_sign_in(tx, user):
                return None
            tx.auth.add_link(
                PasswordLink(
                    id=secret_hash(secret),
                    user_id=user_id,
                    purpose=purpose,
                    created_at=now,
                    expires_at=expires,
                )
            )
        language = user.language if user.language in ("pl", "en") else "pl"
        firm = self.cabinet.branding.effective().firm_name
        url = self.cabinet.branding.public_url() + LINK_PATH + secret
        return MailMessage(
            to=(user.email,),
            subject=_SUBJECT[purpose][language].format(firm=firm),
            body=_BODY[purpose][language].format(
                firm=firm,
                email=user.email,
                url=url,
                expires=expires.strftime("%Y-%m-%d %H:%M"),
            ),
            language=language,
        )

    def check(self, secret: str) -> tuple[PasswordLink, User]:
        """The unused, unexpired link of ``secret`` and its user, or a ``ValidationError``
        (field ``link``) that says only that the link no longer works."""
        with self.store.transaction(readonly=True) as tx:
            link = tx.auth.get_link(secret_hash(secret)) if secret else None
            user = tx.get_user(link.user_id) if link is not None else None
            allowed = may_sign_in(tx, user)
        if (
            link is None
            or user is None
            or not allowed
            or link.used_at is not None
            or link.expires_at <= self.now()
        ):
            raise ValidationError.single("link", "invalid", LINK_INVALID)
        return link, user

    def complete(self, secret: str, password: str) -> User:
        """Set the password through the link (once): every session of the user ends, its API
        tokens are revoked and its other links are spent. Audited."""
        link, user = self.check(secret)
        errors = password_errors(
            password, email=user.email, name=user.name, breached=self.cabinet.breached_passwords
        )
        if errors:
            raise ValidationError(errors)
        users = self.cabinet.users
        now = self.now()
        with self.store.transaction() as tx:
            if not tx.auth.use_link(link.id, now):
                raise ValidationError.single("link", "invalid", LINK_INVALID)
            stored = users._store_password(tx, user, password)
            self.record(
                tx,
                Actor.of(user),
                action=(
                    "user.accept_invitation"
                    if link.purpose is LinkPurpose.INVITE
                    else "user.reset_password"
                ),
                entity="user",
                entity_id=user.id,
                client_id=user.client_id,
            )
        return stored
