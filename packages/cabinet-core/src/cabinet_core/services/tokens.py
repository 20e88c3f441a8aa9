"""Personal API tokens: ``cab_`` + a random secret shown once; only its SHA-256 is stored.

A token carries scopes (:class:`~cabinet_core.entities.TokenScope`: ``read``, ``write``,
``admin``) and may expire. A password change or reset and a deactivation revoke every token of
the user (:func:`~cabinet_core.services.sessions.shut_out`)."""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import attrs

from cabinet_core import access
from cabinet_core.audit import FIRM_TIME_ZONE
from cabinet_core.entities import Actor, ApiToken, Role, TokenScope, User
from cabinet_core.errors import (
    N_,
    AuthenticationFailed,
    Conflict,
    FieldError,
    NotFound,
    ValidationError,
)
from cabinet_core.services._base import Service, raise_if, required_text
from cabinet_core.services.sessions import may_sign_in

TOKEN_PREFIX = "cab_"  # noqa: S105 - a public marker, not a secret
INVALID_TOKEN = N_("The API token is not valid")
EXPIRED_TOKEN = N_("The API token has expired")
TOUCH_INTERVAL = timedelta(minutes=1)
MAX_NAME_LENGTH = 200
DEFAULT_SCOPES = (TokenScope.READ, TokenScope.WRITE)


def expiry_at_end_of(day: date) -> datetime:
    """The moment a token chosen to expire on ``day`` stops working: the end of that day in
    the firm's time zone (a user picks a day, not an instant)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=FIRM_TIME_ZONE).astimezone(UTC)


def last_valid_day(expires_at: datetime) -> date:
    """The last day (in the firm's time zone) a token expiring at ``expires_at`` works on: the
    day a user chose, for :func:`expiry_at_end_of`."""
    return (expires_at.astimezone(FIRM_TIME_ZONE) - timedelta(microseconds=1)).date()


@attrs.frozen
class TokenSignIn:
    """The user a token signs in and the token itself (its scopes limit the actor)."""

    user: User
    token: ApiToken

    @property
    def actor(self) -> Actor:
        """The services' actor for calls made with this token."""
        return Actor.of(self.user, scopes=frozenset(self.token.scopes))


def token_hash(secret: str) -> str:
    """The stored form of a token: SHA-256 hex (a 256-bit random secret needs no slow hash)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService(Service):
    """``cabinet.tokens``: create, use, list and revoke personal API tokens."""

    def create(
        self,
        actor: Actor,
        *,
        name: str,
        scopes: Iterable[TokenScope | str] = DEFAULT_SCOPES,
        expires_at: datetime | None = None,
        code: str | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token of the acting user and its secret (shown this once).

        ``scopes`` are widened by what each includes (``write`` reads too); ``admin`` must be
        named (the default, read and write, is what tokens made before scopes existed keep).
        ``expires_at``, when given, must lie ahead. A call made with a token needs its
        ``admin`` scope and cannot hand out a scope its own token lacks.

        A token signs in without the second factor, so making one asks for it: a user with
        two-factor sign-in on gives a current ``code``; one who must have it (staff) and has
        not enrolled yet gets none.
        """
        user_id = access.require_user(actor)
        access.require_scope(actor, TokenScope.ADMIN)
        now = self.now()
        chosen, errors = _scope_errors(scopes)
        errors += required_text(name, "name")
        if len(name.strip()) > MAX_NAME_LENGTH:
            errors.append(FieldError(field="name", code="too_long", message=N_("Too long.")))
        if expires_at is not None and expires_at <= now:
            errors.append(
                FieldError(
                    field="expires_at",
                    code="past",
                    message=N_("Choose a date in the future."),
                )
            )
        raise_if(errors)
        if actor.scopes is not None and not set(chosen) <= actor.scopes:
            raise ValidationError.single(
                "scopes",
                "wider_than_own",
                N_("A token cannot create a token with more scopes than its own."),
            )
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
                    created_at=now,
                    scopes=chosen,
                    expires_at=expires_at,
                )
            )
            self.record(
                tx,
                actor,
                action="token.create",
                entity="api_token",
                entity_id=token.id,
                client_id=actor.client_id,
                detail={
                    "name": token.name,
                    "prefix": token.prefix,
                    "scopes": " ".join(token.scopes),
                    "expires_at": token.expires_at.isoformat() if token.expires_at else None,
                },
            )
        return token, secret

    def authenticate(self, secret: str) -> User:
        """The active user a token belongs to; :class:`AuthenticationFailed` otherwise."""
        return self.resolve(secret).user

    def resolve(self, secret: str) -> TokenSignIn:
        """The active user a token signs in and the token (with its scopes); an unknown,
        revoked or expired token, or one whose user may not sign in, is
        :class:`AuthenticationFailed`."""
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
        if token.expired(now):
            raise AuthenticationFailed(EXPIRED_TOKEN)
        # Every API call authenticates; write "last used" at most once a minute, not each time.
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
            with self.store.transaction() as tx:
                tx.touch_api_token(token.id, at=now)
            token = attrs.evolve(token, last_used_at=now)
        return TokenSignIn(user=user, token=token)

    def list(self, actor: Actor) -> builtins.list[ApiToken]:
        """The acting user's tokens (hashes only)."""
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            return tx.list_api_tokens(user_id)

    def revoke(self, actor: Actor, token_id: int) -> None:
        """Delete one of one's own tokens (an admin may revoke anyone's); with a token, only
        one that has the ``admin`` scope."""
        access.require_scope(actor, TokenScope.ADMIN)
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


def _scope_errors(
    scopes: Iterable[TokenScope | str],
) -> tuple[tuple[TokenScope, ...], list[FieldError]]:
    """The chosen scopes (with what they include) and the problems with the choice."""
    chosen: list[TokenScope] = []
    for scope in scopes:
        try:
            chosen.append(TokenScope(scope))
        except ValueError:
            return (), [
                FieldError(
                    field="scopes",
                    code="unknown",
                    message=N_("Unknown scope %(scope)s."),
                    params={"scope": str(scope)},
                )
            ]
    if not chosen:
        return (), [
            FieldError(field="scopes", code="required", message=N_("Choose at least one scope."))
        ]
    return TokenScope.closure(chosen), []
