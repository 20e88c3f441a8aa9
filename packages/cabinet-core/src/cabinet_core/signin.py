"""What the cabinet remembers about signing in: sessions, single-use password links and a
user's second factor. Plain values; the storage keeps them, ``cabinet.sessions``,
``cabinet.users`` and ``cabinet.two_factor`` decide with them."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

import attrs

__all__ = ["LinkPurpose", "PasswordLink", "SignInSession", "TwoFactor", "secret_hash"]


def secret_hash(secret: str) -> str:
    """The stored form of a random secret (a session, a link): SHA-256 hex. A 256-bit random
    secret needs no slow hash; a stolen table then opens nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()


@attrs.frozen(kw_only=True)
class SignInSession:
    """One signed-in browser. ``id`` is the hash of the cookie's secret, never the secret."""

    id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    user_agent: str = ""
    remote: str = ""
    #: False while the second factor is still to be given (or, for staff, enrolled).
    verified: bool = True


class LinkPurpose(enum.StrEnum):
    """Why a single-use link was sent."""

    RESET = "reset"
    INVITE = "invite"


@attrs.frozen(kw_only=True)
class PasswordLink:
    """A single-use link to set a password ("forgot password" or an invitation)."""

    id: str
    user_id: int
    purpose: LinkPurpose
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@attrs.frozen(kw_only=True)
class TwoFactor:
    """A user's TOTP second factor (RFC 6238): the base32 secret, when enrolment was confirmed,
    the SHA-256 of each unused recovery code and the last time step accepted."""

    user_id: int
    secret: str = attrs.field(repr=False)
    confirmed_at: datetime | None = None
    recovery_codes: tuple[str, ...] = attrs.field(default=(), repr=False)
    last_step: int = 0
