"""The SMTP settings kept in the database, and the test e-mail that checks them.

Admins set them on the mail settings page; an operator's ``CABINET_SMTP_*`` variable still wins,
field by field, and what neither sets comes from the installation's :class:`SmtpSettings`. The
password is stored for the mailer to log in with, sealed with a key derived from the cabinet's
secret key (:mod:`cabinet_core.sealing`), and never shown or audited: the page says only whether
one is set. A password an older version stored in clear is read once and sealed in its place.
"""

from __future__ import annotations

import builtins
import logging
from typing import Any

import attrs

from cabinet_core import access
from cabinet_core.entities import Actor, OutboxMessage
from cabinet_core.errors import N_, FieldError
from cabinet_core.identifiers import email_lookup_key
from cabinet_core.sealing import Sealer, Unreadable
from cabinet_core.services._base import Service, email_errors, raise_if
from cabinet_core.settings import SmtpSettings
from cabinet_core.sync import MAIL_SUBSCRIBER, MailTestRequest, Topic

MAIL_KEY = "mail.smtp"
#: The HKDF label of the SMTP password's key.
PASSWORD_LABEL = b"cabinet mail settings"
#: Where the sealed password is kept in the setting (``password`` was the clear text of old).
SEALED = "password_sealed"
LEGACY_CLEAR = "password"
_log = logging.getLogger(__name__)
#: The test e-mails are the outbox messages of this entity, ``entity_id`` the admin's user id.
TEST_ENTITY = "mail_test"
#: Which environment variable overrides each field (the names ``Settings.from_env`` reads).
ENVIRONMENT = {
    field: f"CABINET_SMTP_{field.upper()}"
    for field in ("host", "port", "starttls", "ssl", "username", "password", "sender")
}


@attrs.frozen(kw_only=True)
class MailSettingsForm:
    """What the page shows: the effective values (no password), whether a password is set,
    and which fields the environment sets."""

    host: str
    port: int
    starttls: bool
    ssl: bool
    username: str
    sender: str
    password_set: bool
    from_environment: tuple[str, ...]
    mailer: str
    #: A password is stored but the secret key in force cannot open it (it was rotated).
    password_unreadable: bool = False


class MailSettingsService(Service):
    """``cabinet.mail_settings``: admins read and change the SMTP settings, audited."""

    def _sealer(self) -> Sealer:
        return Sealer.from_secret(self.cabinet.settings.secret_key, PASSWORD_LABEL)

    def _stored(self) -> dict[str, Any]:
        with self.store.transaction(readonly=True) as tx:
            stored = dict(tx.get_setting(MAIL_KEY) or {})
        if stored.get(LEGACY_CLEAR):
            stored = self._seal_legacy()
        return stored

    def _seal_legacy(self) -> dict[str, Any]:
        """Seal a password stored in clear by an older version, once (audited by the system)."""
        with self.store.transaction() as tx:
            stored = dict(tx.get_setting(MAIL_KEY) or {})
            clear = stored.pop(LEGACY_CLEAR, None)
            if clear:
                stored[SEALED] = self._sealer().seal(str(clear))
                tx.set_setting(MAIL_KEY, stored)
                self.record(
                    tx,
                    Actor.system(),
                    action="settings.set",
                    entity="setting",
                    entity_id=None,
                    client_id=None,
                    detail={"key": MAIL_KEY, "password_sealed": True},
                )
        return stored

    def _password(self, stored: dict[str, Any]) -> str | None:
        """The stored password in clear; ``None`` when none is stored or it cannot be opened."""
        token = stored.get(SEALED)
        if not token:
            return None
        try:
            return self._sealer().open(str(token))
        except Unreadable:
            _log.warning("the stored SMTP password cannot be opened: was the secret key changed?")
            return None

    def _environment(self) -> tuple[str, ...]:
        env = self.cabinet.settings.environment
        return tuple(field for field, name in ENVIRONMENT.items() if env.get(name))

    def effective_smtp(self) -> SmtpSettings:
        """The SMTP settings the mailer uses now: environment, then stored, then defaults."""
        base = self.cabinet.settings.smtp
        stored = self._stored()
        from_env = set(self._environment())
        values: dict[str, Any] = attrs.asdict(base)
        for field in ENVIRONMENT:
            value = self._password(stored) if field == "password" else stored.get(field)
            if field not in from_env and value not in (None, ""):
                values[field] = value
        return SmtpSettings(**values)

    def form(self, actor: Actor) -> MailSettingsForm:
        """The mail settings page (admins only)."""
        access.require(access.can_change_settings(actor))
        smtp = self.effective_smtp()
        stored = self._stored()
        return MailSettingsForm(
            host=smtp.host,
            port=smtp.port,
            starttls=smtp.starttls,
            ssl=smtp.ssl,
            username=smtp.username or "",
            sender=smtp.sender,
            password_set=bool(smtp.password),
            from_environment=self._environment(),
            mailer=self.cabinet.settings.mailer,
            password_unreadable=bool(stored.get(SEALED)) and self._password(stored) is None,
        )

    def update(
        self,
        actor: Actor,
        *,
        host: str,
        port: str,
        starttls: bool,
        ssl: bool,
        username: str,
        sender: str,
        password: str = "",
        clear_password: bool = False,
    ) -> None:
        """Store the SMTP settings; an empty ``password`` keeps the stored one. Audited with
        the old and new values, the password only as "changed"."""
        access.require(access.can_change_settings(actor))
        errors: list[FieldError] = []
        if not host.strip():
            errors.append(
                FieldError(field="host", code="required", message=N_("This field is required."))
            )
        number = int(port) if port.strip().isdigit() else 0
        if not 1 <= number <= 65535:
            errors.append(
                FieldError(field="port", code="range", message=N_("Enter a port from 1 to 65535."))
            )
        if starttls and ssl:
            errors.append(
                FieldError(
                    field="ssl",
                    code="conflict",
                    message=N_("Choose either SSL or STARTTLS, not both."),
                )
            )
        errors += email_errors(sender, "sender")
        raise_if(errors)
        self._stored()  # a password an older version kept in clear is sealed first
        with self.store.transaction() as tx:
            old = dict(tx.get_setting(MAIL_KEY) or {})
            new: dict[str, Any] = {
                "host": host.strip(),
                "port": number,
                "starttls": starttls,
                "ssl": ssl,
                "username": username.strip(),
                "sender": email_lookup_key(sender),
            }
            changed = bool(password) or (clear_password and bool(old.get(SEALED)))
            if password and password == self._password(old):
                changed = False
            if password and changed:
                new[SEALED] = self._sealer().seal(password)
            elif not clear_password and old.get(SEALED):
                new[SEALED] = old[SEALED]
            if new == old or (not changed and _public(new) == _public(old)):
                return
            tx.set_setting(MAIL_KEY, new)
            self.record(
                tx,
                actor,
                action="settings.set",
                entity="setting",
                entity_id=None,
                client_id=None,
                detail={
                    "key": MAIL_KEY,
                    "old": _public(old),
                    "new": _public(new),
                    "password_changed": changed,
                },
            )

    def send_test(self, actor: Actor, to: str, *, language: str = "pl") -> OutboxMessage:
        """Queue a test e-mail to ``to`` through the outbox (the worker sends it with the
        settings in force then); the page shows how it went."""
        access.require(access.can_change_settings(actor))
        user_id = access.require_user(actor)
        raise_if(email_errors(to, "to"))
        with self.store.transaction() as tx:
            queued = self.queue(
                tx,
                Topic.MAIL_TEST,
                MailTestRequest(to=email_lookup_key(to), language=language, requested_by=user_id),
                entity=TEST_ENTITY,
                entity_id=user_id,
            )
            self.record(
                tx,
                actor,
                action="mail.test",
                entity="setting",
                entity_id=None,
                client_id=None,
                detail={"key": MAIL_KEY, "to": to.strip(), "outbox_id": queued.id},
            )
        return queued

    def tests(self, actor: Actor, *, limit: int = 5) -> builtins.list[OutboxMessage]:
        """The admin's latest test e-mails with their delivery state, newest first."""
        access.require(access.can_change_settings(actor))
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            messages = tx.outbox_for(TEST_ENTITY, user_id)
        return [m for m in messages if m.subscriber == MAIL_SUBSCRIBER][:limit]


def _public(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the password, for the audit log."""
    return {key: value for key, value in values.items() if key not in (SEALED, LEGACY_CLEAR)}
