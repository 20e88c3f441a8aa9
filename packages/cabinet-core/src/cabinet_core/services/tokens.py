"""Personal API tokens: ``cab_`` + a random secret shown once; only its SHA-256 is stored."""

from __future__ import annotations

import builtins
import hashlib
import secrets
from datetime import timedelta

from cabinet_core import access
from cabinet_core.entities import Actor, ApiToken, Role, User
from cabinet_core.errors import N_, AuthenticationFailed, Conflict, NotFound, ValidationError
from cabinet_core.services._base import Service, raise_if, required_text
from cabinet_core.services.sessions import may_sign_in

TOKEN_PREFIX = "cab_"  # noqa: S105 - a public marker, not a secret
INVALID_TOKEN = N_("The API token is not valid")
TOUCH_INTERVAL = timedelta(minutes=1)


def token_hash(secret: str) -> str:
    """The stored form of a token: SHA-256 hex (a 256-bit random secret needs no slow hash)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService(Service):
    """``cabinet.tokens``: create, use, list and revoke personal API tokens."""

    def create(self, actor: Actor, *, name: str, code: str | None = None) -> tuple[ApiToken, str]:
        """A new token of the acting user and its secret (shown this once).

        A token signs in without the second factor, so making one asks for it: a user with
        two-factor sign-in on gives a current ``code``; one who must have it (staff) and has
        not enrolled yet gets none.
        """
        user_id = access.require_user(actor)
        raise_if(required_text(name, "name"))
        two_factor = self.cabinet.two_factor
        with self.store.transaction(readonly=True) as tx:
            user = tx.get_user(user_id)
        if user is None:
            raise NotFound(N_("Not found"), entity="user", id=user_id)
        if two_factor.enabled(user_id):
            if not code or not two_factor.verify(user, code):
                raise ValidationError.single(
                    "code", "wrong", N_("Enter a current code from your authenticator app.")
                )
        elif two_factor.required(user):
            raise Conflict(N_("Set up two-factor sign-in before creating an API token."))
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction() as tx:
            token = tx.add_api_token(
                ApiToken(
                    user_id=user_id,
                    name=name.strip(),
                    token_hash=token_hash(secret),
                    prefix=secret[: len(TOKEN_PREFIX) + 6],
                    created_at=self.now(),
                )
            )
            self.record(
                tx,
                actor,
                action="token.create",
                entity="api_token",
                entity_id=token.id,
                client_id=actor.client_id,
                detail={"name": token.name, "prefix": token.prefix},
            )
        return token, secret

    def authenticate(self, secret: str) -> User:
        """The active user a token belongs to; :class:`AuthenticationFailed` otherwise."""
        if not secret.startswith(TOKEN_PREFIX):
            self.cabinet.metrics.signin_failures.labels(kind="api_token").inc()
            raise AuthenticationFailed(INVALID_TOKEN)
        with self.store.transaction(readonly=True) as tx:
            token = tx.get_api_token_by_hash(token_hash(secret))
            user = tx.get_user(token.user_id) if token is not None else None
            allowed = may_sign_in(tx, user)
        if token is None or token.id is None or user is None or not allowed:
            self.cabinet.metrics.signin_failures.labels(kind="api_token").inc()
            raise AuthenticationFailed(INVALID_TOKEN)
        now = self.now()
        # Every API call authenticates; write "last used" at most once a minute, not each time.
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
            with self.store.transaction() as tx:
                tx.touch_api_token(token.id, at=now)
        return user

    def list(self, actor: Actor) -> builtins.list[ApiToken]:
        """The acting user's tokens (hashes only)."""
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            return tx.list_api_tokens(user_id)

    def revoke(self, actor: Actor, token_id: int) -> None:
        """Delete one of one's own tokens (an admin may revoke anyone's)."""
        with self.store.transaction() as tx:
            own = actor.user_id is not None and any(
                token.id == token_id for token in tx.list_api_tokens(actor.user_id)
            )
            if not own and actor.role is not Role.ADMIN:
                raise NotFound(N_("Not found"), entity="api_token", id=token_id)
            tx.delete_api_token(token_id)
            self.record(
                tx,
                actor,
                action="token.revoke",
                entity="api_token",
                entity_id=token_id,
                client_id=actor.client_id,
            )
