"""Users: signing in (argon2id, throttled), accounts, passwords and language."""

from __future__ import annotations

import builtins
import contextlib
import functools
import secrets
import string
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cabinet_core import access
from cabinet_core.entities import Actor, Client, Role, TokenScope, User
from cabinet_core.errors import (
    N_,
    AuthenticationFailed,
    Conflict,
    FieldError,
    NotFound,
    ValidationError,
)
from cabinet_core.identifiers import email_lookup_key
from cabinet_core.password_policy import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    asked_ahead,
    password_errors,
)
from cabinet_core.services._base import Service, email_errors, raise_if
from cabinet_core.services.sessions import may_sign_in, shut_out
from cabinet_core.signin import secret_hash
from cabinet_core.signin_throttle import (
    KnownDevice,
    SignInThrottled,
    ThrottleKey,
    ThrottlePolicy,
    account_key,
    retry_after,
    throttle_keys,
    wait_left,
)
from cabinet_core.storage import Tx
from cabinet_core.sync import PasswordLinkRequest, Topic, UserInfo

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

GENERATED_PASSWORD_LENGTH = 14
# No look-alike characters: a manager may read the password out over the phone.
_PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
WRONG_CREDENTIALS = N_("Wrong e-mail or password")
# The policy itself lives in cabinet_core.password_policy; these names stay importable here.
__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "WRONG_CREDENTIALS",
    "UserService",
    "password_errors",
]


class UserService(Service):
    """``cabinet.users``: sign-in and account management."""

    def __init__(self, cabinet: Cabinet, hasher: PasswordHasher | None = None) -> None:
        super().__init__(cabinet)
        # argon2-cffi's defaults are the RFC 9106 "low memory" argon2id profile.
        self.hasher = hasher or PasswordHasher()

    @functools.cached_property
    def _dummy_hash(self) -> str:
        # Made on first use: hashing costs tens of milliseconds and most cabinets never need it.
        return self.hasher.hash(secrets.token_urlsafe(16))

    # -- signing in ---------------------------------------------------------------------------
    def authenticate(
        self,
        email: str,
        password: str,
        *,
        remote: str = "",
        device: KnownDevice | None = None,
    ) -> User:
        """The active user with this e-mail and password, or :class:`AuthenticationFailed`
        (:class:`~cabinet_core.signin_throttle.SignInThrottled` while a delay runs).

        Failed attempts slow the next ones down, per account and address and per account, or,
        from a ``device`` the account signed in on before, per device alone: see
        :mod:`cabinet_core.signin_throttle`. Never a lock that a stranger can extend.
        """
        now = self.now()
        # Three steps, so that argon2's deliberate slowness never holds a database connection:
        # under a crowd of sign-ins that exhausted the pool (and answered 500) on PostgreSQL.
        with self.store.transaction(readonly=True) as tx:
            user = tx.get_user_by_email(email_lookup_key(email))
            known = (
                device is not None
                and user is not None
                and user.id is not None
                and user.id in device.user_ids
            )
            keys = self._throttle_keys(
                email, remote, device.device_id if known and device else None
            )
            since = now - timedelta(seconds=self.cabinet.settings.login_window_seconds)
            waits = []
            for key in keys:
                failures, last = tx.login_failures(key.key, since=since)
                waits.append(wait_left(key.policy, failures, last, now))
        wait = retry_after(waits)
        # Refused unchecked and not counted while a delay runs: waiting it out is all it takes.
        password_ok = False if wait else self._verify(user, password)
        new_hash = None
        if password_ok and user is not None and self.hasher.check_needs_rehash(user.password_hash):
            new_hash = self.hasher.hash(password)
        if wait:
            verified = False
        else:
            with self.store.transaction() as tx:
                # A deactivated user, or a user of a deactivated client, cannot sign in; the
                # answer is the same as for a wrong password.
                current = tx.get_user(user.id) if user is not None and user.id else None
                verified = (
                    password_ok
                    and current is not None
                    # the password checked is still the account's (not changed meanwhile)
                    and user is not None
                    and current.password_hash == user.password_hash
                    and may_sign_in(tx, current)
                )
                for key in keys:
                    # What left the window is dropped as the key is written anyway: the
                    # table stays about one window long per key.
                    tx.forget_login_attempts(key.key, before=since)
                    tx.record_login_attempt(key.key, at=now, success=verified)
                if verified and known:
                    # The owner is in: what strangers did to the account's key is forgiven.
                    tx.record_login_attempt(account_key(email), at=now, success=True)
                if verified and current is not None and new_hash is not None:
                    current = attrs.evolve(current, password_hash=new_hash)
                    tx.update_user(current)
                if verified and current is not None:
                    user = current
                    # The audit log answers "who signed in when, from where" (the web sets
                    # the address); failed attempts stay in the throttling table only.
                    self.record(
                        tx,
                        Actor.of(current),
                        action="login",
                        entity="user",
                        entity_id=current.id,
                        client_id=current.client_id,
                    )
        # Raised after the commit so that the failed attempt is remembered.
        if wait:
            self.cabinet.metrics.signin_failures.labels(kind="throttled").inc()
            raise SignInThrottled(wait)
        if not verified or user is None:
            self.cabinet.metrics.signin_failures.labels(kind="password").inc()
            raise AuthenticationFailed(WRONG_CREDENTIALS)
        return user

    def _throttle_keys(self, email: str, remote: str, device: str | None) -> list[ThrottleKey]:
        settings = self.cabinet.settings
        window = timedelta(seconds=settings.login_window_seconds)
        cap = timedelta(seconds=settings.login_max_delay_seconds)
        return throttle_keys(
            email,
            remote=remote,
            device=device,
            pair=ThrottlePolicy(
                free_attempts=settings.login_attempts, window=window, max_delay=cap
            ),
            account=ThrottlePolicy(
                free_attempts=settings.login_account_attempts, window=window, max_delay=cap
            ),
        )

    def _verify(self, user: User | None, password: str) -> bool:
        if user is None or not user.active or not user.password_hash:
            # Hash anyway so an unknown e-mail takes as long as a wrong password.
            with contextlib.suppress(VerificationError):
                self.hasher.verify(self._dummy_hash, password)
            return False
        try:
            return self.hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # -- accounts -----------------------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        *,
        email: str,
        name: str,
        role: Role,
        client_id: int | None,
        password: str = "",
        language: str = "pl",
        invite: bool = False,
    ) -> User:
        """A new user: client users belong to a client, staff to none.

        Admins create anyone; managers create users of their own clients. With ``invite`` the
        user gets no password: an e-mail with a single-use link to set one is queued (in the
        user's language) instead; otherwise ``password`` is required.
        """
        access.require_scope(actor, TokenScope.ADMIN)
        role = Role(role)
        errors = email_errors(email) + (
            []
            if invite
            else password_errors(
                password, email=email, name=name, breached=self.cabinet.breached_passwords
            )
        )
        errors += self._language_errors(language)
        if role is Role.CLIENT and client_id is None:
            errors.append(
                FieldError(field="client_id", code="required", message=N_("Choose the client."))
            )
        if role is not Role.CLIENT and client_id is not None:
            errors.append(
                FieldError(
                    field="client_id",
                    code="staff_without_client",
                    message=N_("Staff users do not belong to a client."),
                )
            )
        user = User(
            email=email_lookup_key(email),
            name=name.strip(),
            role=role,
            client_id=client_id,
            language=language,
            password_hash="",
        )
        with self.store.transaction() as tx:
            client = tx.get_client(client_id) if client_id is not None else None
            if client_id is not None and client is None:
                errors.append(
                    FieldError(field="client_id", code="unknown", message=N_("Unknown client."))
                )
            access.require(access.can_manage_user(actor, user, client))
            raise_if(errors)
            try:
                stored = tx.add_user(
                    user if invite else attrs.evolve(user, password_hash=self.hasher.hash(password))
                )
            except Conflict:
                raise ValidationError.single(
                    "email", "taken", N_("A user with this e-mail already exists.")
                ) from None
            self.record(
                tx,
                actor,
                action="user.create",
                entity="user",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={"email": stored.email, "role": stored.role},
                topic=Topic.USER_CREATED,
                message=UserInfo.of(stored),
            )
            if invite:
                assert stored.id is not None
                self.record(
                    tx,
                    actor,
                    action="user.invite",
                    entity="user",
                    entity_id=stored.id,
                    client_id=stored.client_id,
                    topic=Topic.MAIL_PASSWORD_LINK,
                    message=PasswordLinkRequest(
                        user_id=stored.id, purpose="invite", invited_by=actor.user_id
                    ),
                )
        return stored

    def invite_again(self, actor: Actor, user_id: int) -> None:
        """Send a user a new invitation link (the earlier ones stay valid until they expire)."""
        access.require_scope(actor, TokenScope.ADMIN)
        with self.store.transaction() as tx:
            user = self._managed(tx, actor, user_id)
            self.record(
                tx,
                actor,
                action="user.invite",
                entity="user",
                entity_id=user_id,
                client_id=user.client_id,
                topic=Topic.MAIL_PASSWORD_LINK,
                message=PasswordLinkRequest(
                    user_id=user_id, purpose="invite", invited_by=actor.user_id
                ),
            )

    def _language_errors(self, language: str) -> list[FieldError]:
        if language in self.cabinet.settings.languages:
            return []
        return [FieldError(field="language", code="unsupported", message=N_("Unknown language."))]

    def _visible(self, tx: Tx, actor: Actor, user_id: int) -> tuple[User, Client | None]:
        user = tx.get_user(user_id)
        # Staff who see every client never need the user's client to decide (every signed-in
        # request looks its user up as the system actor: one query less per page).
        client_id = user.client_id if user is not None else None
        if access.sees_all_clients(actor) and actor.user_id != user_id:
            client_id = None
        client = tx.get_client(client_id) if client_id is not None else None
        if user is None or not access.can_view_user(actor, user, client):
            raise NotFound(N_("Not found"), entity="user", id=user_id)
        return user, client

    def _managed(self, tx: Tx, actor: Actor, user_id: int) -> User:
        user, client = self._visible(tx, actor, user_id)
        access.require(access.can_manage_user(actor, user, client))
        return user

    def set_password(self, actor: Actor, user_id: int, password: str) -> None:
        """Set a user's new password as its manager or an admin (or one's own, without the
        current one: see :meth:`change_own_password` for the profile page). Every session of
        the user ends and its API tokens are revoked."""
        access.require_scope(actor, TokenScope.ADMIN)
        breached = asked_ahead(self.cabinet.breached_passwords, password)
        with self.store.transaction() as tx:
            if actor.user_id == user_id:
                user, _ = self._visible(tx, actor, user_id)
            else:
                user = self._managed(tx, actor, user_id)
            # Checked once the user is known (its e-mail and name are refused as passwords);
            # raising here writes nothing.
            raise_if(
                password_errors(
                    password,
                    email=user.email,
                    name=user.name,
                    breached=breached,
                )
            )
            self._store_password(tx, user, password)
            self.record(
                tx,
                actor,
                action="user.set_password",
                entity="user",
                entity_id=user.id,
                client_id=user.client_id,
            )

    def change_own_password(
        self, actor: Actor, *, current: str, new: str, keep_session: str | None = None
    ) -> None:
        """Change one's own password, proving the current one. The user's other sessions end
        (``keep_session`` is the secret of the browser asking, which stays signed in) and its
        API tokens are revoked."""
        user_id = access.require_user(actor)
        access.require_scope(actor, TokenScope.ADMIN)
        with self.store.transaction(readonly=True) as tx:
            user, _ = self._visible(tx, actor, user_id)
        errors = password_errors(
            new,
            "new_password",
            email=user.email,
            name=user.name,
            breached=self.cabinet.breached_passwords,
        )
        if not self._verify(user, current):
            errors.insert(
                0,
                FieldError(
                    field="current_password",
                    code="wrong",
                    message=N_("The current password is wrong."),
                ),
            )
        raise_if(errors)
        with self.store.transaction() as tx:
            user, _ = self._visible(tx, actor, user_id)
            self._store_password(
                tx, user, new, keep=secret_hash(keep_session) if keep_session else None
            )
            self.record(
                tx,
                actor,
                action="user.change_password",
                entity="user",
                entity_id=user.id,
                client_id=user.client_id,
            )

    def _store_password(
        self, tx: Tx, user: User, password: str, *, keep: str | None = None
    ) -> User:
        """Hash and store a new password; end the user's sessions (but ``keep``), revoke its
        tokens and spend its unused password links."""
        assert user.id is not None
        stored = tx.update_user(attrs.evolve(user, password_hash=self.hasher.hash(password)))
        shut_out(tx, [user.id], keep=keep)
        tx.auth.expire_links(user.id, self.now())
        return stored

    def generate_password(self, actor: Actor, user_id: int) -> str:
        """Set a random password a manager hands to the user; returned once, stored hashed."""
        access.require_scope(actor, TokenScope.ADMIN)
        password = "".join(
            secrets.choice(_PASSWORD_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH)
        )
        with self.store.transaction() as tx:
            user = self._managed(tx, actor, user_id)
            self._store_password(tx, user, password)
            self.record(
                tx,
                actor,
                action="user.generate_password",
                entity="user",
                entity_id=user.id,
                client_id=user.client_id,
            )
        return password

    def set_language(self, actor: Actor, user_id: int, language: str) -> User:
        """Remember a user's language (their own choice, or an admin's)."""
        raise_if(self._language_errors(language))
        with self.store.transaction() as tx:
            user, _ = self._visible(tx, actor, user_id)
            access.require(actor.user_id == user_id or actor.role is Role.ADMIN)
            stored = tx.update_user(attrs.evolve(user, language=language))
            self.record(
                tx,
                actor,
                action="user.set_language",
                entity="user",
                entity_id=user.id,
                client_id=user.client_id,
                detail={"language": language},
            )
        return stored

    def get(self, actor: Actor, user_id: int) -> User:
        """A user the actor may see."""
        with self.store.transaction(readonly=True) as tx:
            return self._visible(tx, actor, user_id)[0]

    def find_by_email(self, actor: Actor, email: str) -> User | None:
        """The user signing in under ``email`` if the actor may see it, else ``None`` (a
        sign-in from elsewhere, such as a CRM's placement, maps its person by e-mail)."""
        with self.store.transaction(readonly=True) as tx:
            found = tx.get_user_by_email(email_lookup_key(email))
            if found is None or found.id is None:
                return None
            try:
                return self._visible(tx, actor, found.id)[0]
            except NotFound:
                return None

    def list(
        self, actor: Actor, *, client_id: int | None = None, role: Role | None = None
    ) -> builtins.list[User]:
        """The users the actor may see, optionally of one client and/or one role."""
        with self.store.transaction(readonly=True) as tx:
            visible = access.visible_client_ids(tx, actor)
            users = tx.list_users(client_id=client_id, role=role)
            clients = {c.id: c for c in tx.list_clients() if visible is None or c.id in visible}
        return [
            user
            for user in users
            if access.can_view_user(
                actor, user, clients.get(user.client_id) if user.client_id is not None else None
            )
        ]

    def deactivate(self, actor: Actor, user_id: int) -> User:
        """Switch an account off: it can no longer sign in, every session of it ends at once
        and its API tokens are revoked. Never one's own."""
        access.require_scope(actor, TokenScope.ADMIN)
        with self.store.transaction() as tx:
            user = self._managed(tx, actor, user_id)
            if actor.user_id == user_id:
                raise Conflict(N_("You cannot deactivate your own account"))
            stored = tx.update_user(attrs.evolve(user, active=False))
            shut_out(tx, [user_id])
            self.record(
                tx,
                actor,
                action="user.deactivate",
                entity="user",
                entity_id=user.id,
                client_id=user.client_id,
                topic=Topic.USER_DEACTIVATED,
                message=UserInfo.of(stored),
            )
        return stored

    def reactivate(self, actor: Actor, user_id: int) -> User:
        """Switch an account back on (its old sessions and tokens stay gone)."""
        access.require_scope(actor, TokenScope.ADMIN)
        with self.store.transaction() as tx:
            user = self._managed(tx, actor, user_id)
            stored = tx.update_user(attrs.evolve(user, active=True))
            self.record(
                tx,
                actor,
                action="user.reactivate",
                entity="user",
                entity_id=user.id,
                client_id=user.client_id,
            )
        return stored
