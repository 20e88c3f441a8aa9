"""A user's notifications (a returned invoice, a chat message …)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from cabinet_core import access
from cabinet_core.entities import Actor, Notification, OutboxMessage, Role
from cabinet_core.errors import N_, NotFound, ValidationError
from cabinet_core.notification_kinds import EMAIL_KINDS
from cabinet_core.services._base import Service
from cabinet_core.sync import Topic

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.crm import PeriodicTask

#: A chat message is e-mailed when its notification is still unread after this long.
CHAT_UNREAD_DELAY = timedelta(minutes=10)
#: Unread chat older than this is not e-mailed any more: a worker started after a long stop
#: does not flood the users with old conversations.
CHAT_MAIL_HORIZON = timedelta(days=1)
#: How often the worker looks for unread chat to e-mail (``cabinet worker``).
CHAT_CHECK_SECONDS = 60.0

# mark_read looks the notification up among the user's own; nobody keeps more than this unread.
_OWN_LIMIT = 10_000


class NotificationService(Service):
    """``cabinet.notifications``: each user reads and clears only their own."""

    def list(
        self, actor: Actor, *, unread_only: bool = False, limit: int = 50
    ) -> builtins.list[Notification]:
        """The acting user's notifications, newest first (at most ``limit``, 1–200)."""
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            return tx.list_notifications(
                user_id, unread_only=unread_only, limit=max(1, min(limit, 200))
            )

    def unread_count(self, actor: Actor) -> int:
        """How many of the acting user's notifications are unread (the bell's number)."""
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            return sum(tx.dashboard.unread_notifications(user_id).values())

    def mark_all_read(self, actor: Actor) -> int:
        """Mark every unread notification of the acting user read; how many were."""
        user_id = access.require_user(actor)
        with self.store.transaction() as tx:
            return tx.mark_all_notifications_read(user_id, at=self.now())

    def mark_read(self, actor: Actor, notification_id: int) -> None:
        """Mark one of the acting user's notifications read (another's is "not found")."""
        user_id = access.require_user(actor)
        with self.store.transaction() as tx:
            own = tx.list_notifications(user_id, limit=_OWN_LIMIT)
            if not any(n.id == notification_id for n in own):
                raise NotFound(N_("Not found"), entity="notification", id=notification_id)
            tx.mark_notification_read(notification_id, at=self.now())

    def email_preferences(self, actor: Actor) -> dict[str, bool]:
        """Kind → whether the acting user gets it by e-mail too, for every kind of
        :data:`~cabinet_core.notification_kinds.EMAIL_KINDS` (on unless turned off)."""
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            chosen = tx.email_choices([user_id]).get(user_id, {})
        return {kind: chosen.get(kind, True) for kind in EMAIL_KINDS}

    def set_email_preferences(self, actor: Actor, choices: Mapping[str, bool]) -> dict[str, bool]:
        """Set which kinds the acting user gets by e-mail (kinds left out keep the default,
        on); an unknown kind → :class:`ValidationError`. Audited."""
        user_id = access.require_user(actor)
        unknown = sorted(set(choices) - set(EMAIL_KINDS))
        if unknown:
            raise ValidationError.single(
                unknown[0], "unknown", N_("This field is not part of the request.")
            )
        wanted = {kind: bool(on) for kind, on in choices.items()}
        with self.store.transaction() as tx:
            tx.put_email_choices(user_id, {k: on for k, on in wanted.items() if not on})
            self.record(
                tx,
                actor,
                action="user.notification_preferences",
                entity="user",
                entity_id=user_id,
                client_id=actor.client_id,
                detail={"email": wanted},
            )
        return {kind: wanted.get(kind, True) for kind in EMAIL_KINDS}

    def mail_unread_chat(self) -> int:
        """Queue an e-mail for every chat message whose notification has been unread for
        :data:`CHAT_UNREAD_DELAY` (and not yet mailed), to users who did not turn it off; how
        many were queued. The worker runs it every minute (:func:`periodic_tasks`)."""
        now = self.now()
        with self.store.transaction() as tx:
            due = tx.unmailed_unread_notifications(
                "chat.message",
                created_before=now - CHAT_UNREAD_DELAY,
                created_after=now - CHAT_MAIL_HORIZON,
            )
            if not due:
                return 0
            user_ids = {n.user_id for n in due}
            choices = tx.email_choices(user_ids)
            users = {user_id: tx.get_user(user_id) for user_id in user_ids}
            queued = 0
            for notification in due:
                user = users.get(notification.user_id)
                if user is not None and self.mail_notification(
                    tx, user, notification, choices.get(notification.user_id, {})
                ):
                    queued += 1
            return queued

    def delivery_failed(self, message: OutboxMessage, *, subscriber: str) -> None:
        """Tell every active admin that ``subscriber`` (``mail``, a CRM backend, ``ksef``)
        gave up on ``message`` (called by the worker). A failed notification e-mail is told in
        the cabinet only, so a mail server that is down never feeds itself more mail."""

        def text(language: str) -> str:
            return _FAILED_TEXT[language if language in _FAILED_TEXT else "pl"].format(
                topic=message.topic, subscriber=subscriber, id=message.id
            )

        with self.store.transaction() as tx:
            self.notify(
                tx,
                tx.list_users(role=Role.ADMIN),
                kind="delivery.failed",
                text=text,
                link="/settings",
                mail=message.topic != Topic.MAIL_NOTIFICATION.value,
            )


_FAILED_TEXT = {
    "pl": "Nie dostarczono: {topic} do {subscriber} (wiadomość {id}); ponów ją w ustawieniach.",
    "en": "Not delivered: {topic} to {subscriber} (message {id}); retry it in the settings.",
}


def periodic_tasks() -> tuple[PeriodicTask[Cabinet], ...]:
    """The notifications' own work for the worker loop: e-mailing unread chat."""
    from cabinet_core.crm import PeriodicTask

    return (
        PeriodicTask(
            name="notifications.unread_chat",
            interval_seconds=CHAT_CHECK_SECONDS,
            run=lambda cabinet: cabinet.notifications.mail_unread_chat(),
        ),
    )
