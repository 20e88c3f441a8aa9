"""What every service shares: the cabinet, the clock, audit and outbox rows, event hooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cabinet_core.entities import Actor, AuditEntry, Notification, OutboxMessage, User
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.identifiers import checked_email
from cabinet_core.notification_kinds import EMAIL_KINDS
from cabinet_core.sync import NotificationMail, Topic, delivery_subscribers, encode_payload

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.storage import Store, Tx

log = logging.getLogger("cabinet.services")


def raise_if(errors: Iterable[FieldError]) -> None:
    """Raise :class:`ValidationError` with ``errors`` if there are any."""
    found = list(errors)
    if found:
        raise ValidationError(found)


def required_text(value: str, field: str) -> list[FieldError]:
    """An error when ``value`` is blank."""
    if value.strip():
        return []
    return [FieldError(field=field, code="required", message=N_("This field is required."))]


def email_errors(value: str, field: str = "email", *, required: bool = True) -> list[FieldError]:
    """An error when ``value`` is not an e-mail address :func:`~cabinet_core.identifiers.
    validate_email` accepts (a saving use case stores the address in that function's form)."""
    return checked_email(value, field=field, required=required)[1]


class Service:
    """Base of the services: holds the cabinet and writes audit and outbox rows."""

    def __init__(self, cabinet: Cabinet) -> None:
        self.cabinet = cabinet

    @property
    def store(self) -> Store:
        return self.cabinet.store

    def now(self) -> datetime:
        """The store's clock (tests pin it)."""
        return self.store.clock()

    def notify(
        self,
        tx: Tx,
        users: Iterable[User],
        *,
        kind: str,
        text: Callable[[str], str],
        link: str,
        skip: int | None = None,
        mail: bool = True,
    ) -> None:
        """Notify each active user of ``users`` but ``skip`` (the one who acted), in ``tx``:
        ``text(language)`` in the user's language; with ``mail``, a kind of
        :data:`EMAIL_KINDS` is e-mailed too (outbox topic ``mail.notification``) unless the user
        turned it off (a chat message is e-mailed later, only if still unread)."""
        wanted = [u for u in users if u.id is not None and u.active and u.id != skip]
        choices = tx.email_choices(u.id for u in wanted if u.id is not None)
        for user in wanted:
            assert user.id is not None
            language = user.language if user.language in ("pl", "en") else "pl"
            stored = tx.add_notification(
                Notification(
                    user_id=user.id,
                    kind=kind,
                    text=text(language),
                    link=link,
                    created_at=self.now(),
                )
            )
            if mail:
                self.mail_notification(tx, user, stored, choices.get(user.id, {}))

    def mail_notification(
        self, tx: Tx, user: User, notification: Notification, choices: Mapping[str, bool]
    ) -> bool:
        """Queue the e-mail of ``notification`` to ``user`` (outbox ``mail.notification``)
        when its kind is e-mailed and the user did not turn it off (``choices``); whether it
        was queued."""
        kind = notification.kind
        if kind not in EMAIL_KINDS or not user.email or not user.active or user.id is None:
            return False
        if not choices.get(kind, True):
            return False
        language = user.language if user.language in ("pl", "en") else "pl"
        self.record(
            tx,
            Actor.system(),
            action="notification.mail",
            entity="notification",
            entity_id=notification.id,
            client_id=user.client_id,
            topic=Topic.MAIL_NOTIFICATION,
            message=NotificationMail(
                notification_id=notification.id or 0,
                user_id=user.id,
                to=user.email,
                language=language,
            ),
        )
        return True

    def record(
        self,
        tx: Tx,
        actor: Actor,
        *,
        action: str,
        entity: str,
        entity_id: int | None,
        client_id: int | None,
        detail: Mapping[str, Any] | None = None,
        topic: Topic | None = None,
        message: object = None,
        origin: str | None = None,
    ) -> None:
        """Write the audit entry and, with ``topic``, the outbox message of one change, in
        ``tx``: ``message`` is the topic's payload (:data:`cabinet_core.sync.PAYLOAD_TYPES`,
        checked by :func:`~cabinet_core.sync.encode_payload`), delivered to every active CRM
        backend but ``origin`` (the backend whose change this is), or to the mail delivery."""
        entry = AuditEntry(
            at=self.now(),
            actor_id=actor.user_id,
            client_id=client_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            # The store turns both into JSON types (once: they can be a whole document).
            detail=dict(detail or {}),
        )
        if topic is None:
            tx.record(entry)
            return
        # Written together when the transaction ends (Tx.record), in the order recorded.
        tx.record(
            entry,
            self._message(topic, message, entity=entity, entity_id=entity_id, origin=origin),
            subscribers=delivery_subscribers(
                topic, origin=origin, crm_backends=self.cabinet.settings.crm_backends
            ),
        )

    def queue(
        self,
        tx: Tx,
        topic: Topic,
        message: object,
        *,
        entity: str,
        entity_id: int | None,
        origin: str | None = None,
    ) -> OutboxMessage:
        """Add the outbox message of ``topic`` with a delivery per subscriber, in ``tx``, at
        once (the message as stored, with its id)."""
        subscribers = delivery_subscribers(
            topic, origin=origin, crm_backends=self.cabinet.settings.crm_backends
        )
        return tx.add_outbox(
            self._message(topic, message, entity=entity, entity_id=entity_id, origin=origin),
            subscribers=subscribers,
            json_ready=True,
        )

    def _message(
        self,
        topic: Topic,
        message: object,
        *,
        entity: str,
        entity_id: int | None,
        origin: str | None,
    ) -> OutboxMessage:
        """The outbox message of ``topic``: its payload checked and encoded to JSON values."""
        return OutboxMessage(
            topic=topic.value,
            entity=entity,
            entity_id=entity_id,
            payload=encode_payload(topic, message),
            origin=origin,
            created_at=self.now(),
        )

    def fire(self, hook_name: str, **kwargs: Any) -> None:
        """Call an event hook after commit. A failing plugin is logged, never undoes the change
        (CRM delivery goes through the outbox, not through these hooks)."""
        caller: Callable[..., Any] = getattr(self.cabinet.pm.hook, hook_name)
        try:
            caller(cabinet=self.cabinet, **kwargs)
        except Exception:
            log.exception("plugin hook %s failed", hook_name)
