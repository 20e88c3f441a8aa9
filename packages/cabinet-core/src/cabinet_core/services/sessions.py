"""Server-side sign-in sessions: the browser's cookie carries a random secret, the database
its SHA-256. Signing out deletes the row, so a copied cookie stops working at once; so do a
password change, a deactivation and a second-factor reset (:func:`end_sessions`)."""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Iterable
from datetime import timedelta

import attrs

from cabinet_core import access
from cabinet_core.entities import Actor, TokenScope, User
from cabinet_core.errors import N_, NotFound
from cabinet_core.services._base import Service
from cabinet_core.signin import SignInSession, secret_hash
from cabinet_core.storage import Tx

__all__ = ["SessionService", "end_sessions", "may_sign_in", "shut_out"]

#: Every page view resolves the session; "last seen" is written at most this often.
TOUCH_INTERVAL = timedelta(minutes=1)


def end_sessions(tx: Tx, user_ids: Iterable[int], *, keep: str | None = None) -> int:
    """End the sessions of ``user_ids`` inside ``tx`` (all but the one whose id is ``keep``)."""
    ids = list(user_ids)
    return tx.auth.delete_sessions(ids, keep=keep) if ids else 0


def may_sign_in(tx: Tx, user: User | None) -> bool:
    """Whether ``user`` may be signed in at all: active, and its client (if any) active too."""
    if user is None or not user.active:
        return False
    if user.client_id is None:
        return True
    client = tx.get_client(user.client_id)
    return client is not None and client.active


def shut_out(tx: Tx, user_ids: Iterable[int], *, keep: str | None = None) -> None:
    """End the users' sessions (but ``keep``) and revoke their API tokens, inside ``tx``:
    what a deactivation and a password change or reset do."""
    ids = list(user_ids)
    end_sessions(tx, ids, keep=keep)
    for user_id in ids:
        for token in tx.list_api_tokens(user_id):
            if token.id is not None:
                tx.delete_api_token(token.id)


@attrs.frozen
class ResolvedSession:
    """The signed-in user of a cookie and its session row."""

    user: User
    session: SignInSession


class SessionService(Service):
    """``cabinet.sessions``: open, resolve, verify and close sign-in sessions."""

    def open(
        self, user: User, *, user_agent: str = "", remote: str = "", verified: bool = True
    ) -> str:
        """A new session for ``user``; returns the secret the cookie carries (never stored).

        ``verified=False`` opens a session that still waits for the second factor.
        """
        if user.id is None or not user.active:
            raise NotFound(N_("Not found"), entity="user", id=user.id)
        secret = secrets.token_urlsafe(32)
        now = self.now()
        idle = timedelta(seconds=self.cabinet.settings.session_idle_seconds)
        with self.store.transaction() as tx:
            # Sessions left to idle out are swept here, where the user's rows are touched anyway.
            tx.auth.delete_sessions([user.id], older_than=now - idle)
            tx.auth.add_session(
                SignInSession(
                    id=secret_hash(secret),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    user_agent=user_agent,
                    remote=remote,
                    verified=verified,
                )
            )
        return secret

    def resolve(self, secret: str) -> ResolvedSession | None:
        """The active user and session behind a cookie's secret; ``None`` when it was closed,
        has idled out or its user was deactivated."""
        if not secret:
            return None
        session_id = secret_hash(secret)
        now = self.now()
        idle = timedelta(seconds=self.cabinet.settings.session_idle_seconds)
        with self.store.transaction(readonly=True) as tx:
            session = tx.auth.get_session(session_id)
            user = tx.get_user(session.user_id) if session is not None else None
            allowed = may_sign_in(tx, user)
        if session is None or user is None:
            return None
        if not allowed or now - session.last_seen_at > idle:
            with self.store.transaction() as tx:
                tx.auth.delete_session(session_id)
            return None
        if now - session.last_seen_at >= TOUCH_INTERVAL:
            with self.store.transaction() as tx:
                tx.auth.touch_session(session_id, now)
        return ResolvedSession(user=user, session=session)

    def verify(self, secret: str) -> None:
        """Mark the session as having passed the second factor."""
        with self.store.transaction() as tx:
            tx.auth.verify_session(secret_hash(secret))

    def close(self, secret: str) -> None:
        """Sign out: the session is deleted on the server (idempotent)."""
        if not secret:
            return
        with self.store.transaction() as tx:
            tx.auth.delete_session(secret_hash(secret))

    def list(self, actor: Actor) -> builtins.list[SignInSession]:
        """The acting user's open sessions, most recently used first."""
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            return tx.auth.list_sessions(user_id)

    def end_others(self, actor: Actor, keep_secret: str) -> int:
        """Sign the acting user out everywhere but in this browser; how many sessions ended."""
        user_id = access.require_user(actor)
        access.require_scope(actor, TokenScope.ADMIN)
        with self.store.transaction() as tx:
            ended = end_sessions(tx, [user_id], keep=secret_hash(keep_secret))
            self.record(
                tx,
                actor,
                action="user.end_sessions",
                entity="user",
                entity_id=user_id,
                client_id=actor.client_id,
                detail={"ended": ended},
            )
        return ended
