"""Two-factor sign-in: TOTP (RFC 6238, through pyotp) with one-time recovery codes.

Staff must use it when ``settings.staff_two_factor`` is on (they enrol at their next sign-in);
client users may turn it on. The shared secret is stored as is (the server must compute codes
from it); the recovery codes only as SHA-256, shown once when made. A code is accepted once:
the last accepted time step is remembered. An admin can reset another user's second factor
(audited); the user then enrols again and every session of it ends.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import attrs
import pyotp

from cabinet_core import access
from cabinet_core.entities import Actor, Role, TokenScope, User
from cabinet_core.errors import N_, Conflict, NotFound, ValidationError
from cabinet_core.services._base import Service
from cabinet_core.services.sessions import end_sessions
from cabinet_core.signin import TwoFactor, secret_hash
from cabinet_core.signin_throttle import ThrottlePolicy, wait_left
from cabinet_core.storage import Tx

__all__ = ["RECOVERY_CODES", "TwoFactorService"]

RECOVERY_CODES = 10
#: TOTP codes one step (30 s) either side of now are accepted: phone clocks drift.
VALID_WINDOW = 1
WRONG_CODE = N_("The code is wrong or was already used.")
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


class TwoFactorService(Service):
    """``cabinet.two_factor``: enrol, verify, turn off and reset the second factor."""

    def required(self, user: User) -> bool:
        """Whether ``user`` must have a second factor (staff, when the setting is on)."""
        return user.role.is_staff and self.cabinet.settings.staff_two_factor

    def enabled(self, user_id: int) -> bool:
        """Whether the user has a confirmed second factor."""
        with self.store.transaction(readonly=True) as tx:
            factor = tx.auth.get_two_factor(user_id)
        return factor is not None and factor.confirmed_at is not None

    def remaining_recovery_codes(self, actor: Actor) -> int:
        """How many unused recovery codes the acting user has."""
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            factor = tx.auth.get_two_factor(user_id)
        return len(factor.recovery_codes) if factor is not None else 0

    def start_enrolment(self, actor: Actor, *, email: str) -> tuple[str, str]:
        """A new (unconfirmed) TOTP secret for the acting user and its ``otpauth://`` URI for
        the QR code; replaces an unconfirmed one. Conflict when one is already on."""
        user_id = access.require_user(actor)
        access.require_scope(actor, TokenScope.ADMIN)
        secret = pyotp.random_base32()
        with self.store.transaction() as tx:
            current = tx.auth.get_two_factor(user_id)
            if current is not None and current.confirmed_at is not None:
                raise Conflict(N_("Two-factor sign-in is already on."))
            tx.auth.put_two_factor(TwoFactor(user_id=user_id, secret=secret))
        return secret, self.enrolment_uri(secret, email=email)

    def enrolment_uri(self, secret: str, *, email: str) -> str:
        """The ``otpauth://`` URI an authenticator app reads from the QR code."""
        issuer = self.cabinet.settings.branding.firm_name
        return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)

    def pending_secret(self, actor: Actor) -> str | None:
        """The unconfirmed secret of an enrolment under way, if any."""
        user_id = access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            factor = tx.auth.get_two_factor(user_id)
        if factor is None or factor.confirmed_at is not None:
            return None
        return factor.secret

    def confirm_enrolment(self, actor: Actor, code: str) -> list[str]:
        """Turn the second factor on with a first code from the app; returns the recovery
        codes, shown this once (stored hashed)."""
        user_id = access.require_user(actor)
        access.require_scope(actor, TokenScope.ADMIN)
        now = self.now()
        with self.store.transaction() as tx:
            factor = tx.auth.get_two_factor(user_id)
            if factor is None or factor.confirmed_at is not None:
                raise Conflict(N_("Start the enrolment again."))
            step = self._matching_step(factor, code, now)
            if step is None:
                raise ValidationError.single("code", "wrong", WRONG_CODE)
            codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
            tx.auth.put_two_factor(
                attrs.evolve(
                    factor,
                    confirmed_at=now,
                    last_step=step,
                    recovery_codes=tuple(secret_hash(_normal(c)) for c in codes),
                )
            )
            self.record(
                tx,
                actor,
                action="user.enable_two_factor",
                entity="user",
                entity_id=user_id,
                client_id=actor.client_id,
            )
        return codes

    def verify(self, user: User, code: str) -> bool:
        """Whether ``code`` (a TOTP code or an unused recovery code) is right for ``user``; a
        TOTP code is accepted once, a recovery code is spent (audited).

        Wrong codes are counted like wrong passwords (:mod:`cabinet_core.signin_throttle`):
        past ``settings.login_attempts`` within the window each further code waits a delay that
        doubles up to a cap, refused unchecked meanwhile, so six digits cannot be guessed; a
        refused code does not lengthen the wait."""
        if user.id is None:
            return False
        settings = self.cabinet.settings
        key = f"2fa:{user.id}"
        now = self.now()
        window = timedelta(seconds=settings.login_window_seconds)
        policy = ThrottlePolicy(
            free_attempts=settings.login_attempts,
            window=window,
            max_delay=timedelta(seconds=settings.login_max_delay_seconds),
        )
        with self.store.transaction() as tx:
            failures, last = tx.login_failures(key, since=now - window)
            if wait_left(policy, failures, last, now):
                return False
            accepted = self._accept(tx, user, code, now)
            tx.record_login_attempt(key, at=now, success=accepted)
        if not accepted:
            self.cabinet.metrics.signin_failures.labels(kind="second_factor").inc()
        return accepted

    def _accept(self, tx: Tx, user: User, code: str, now: datetime) -> bool:
        assert user.id is not None
        factor = tx.auth.get_two_factor(user.id)
        if factor is None or factor.confirmed_at is None:
            return False
        step = self._matching_step(factor, code, now)
        if step is not None:
            tx.auth.put_two_factor(attrs.evolve(factor, last_step=step))
            return True
        hashed = secret_hash(_normal(code))
        if not _normal(code) or hashed not in factor.recovery_codes:
            return False
        left = tuple(c for c in factor.recovery_codes if c != hashed)
        tx.auth.put_two_factor(attrs.evolve(factor, recovery_codes=left))
        self.record(
            tx,
            Actor.of(user),
            action="user.use_recovery_code",
            entity="user",
            entity_id=user.id,
            client_id=user.client_id,
            detail={"left": len(left)},
        )
        return True

    def _matching_step(self, factor: TwoFactor, code: str, now: datetime) -> int | None:
        """The time step ``code`` belongs to (within the window), if newer than the last."""
        code = _normal(code)
        if not code.isdigit() or len(code) != 6:
            return None
        totp = pyotp.TOTP(factor.secret)
        current = int(now.timestamp()) // totp.interval
        for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
            if step > factor.last_step and secrets.compare_digest(
                totp.at(step * totp.interval), code
            ):
                return step
        return None

    def disable(self, actor: Actor, code: str) -> None:
        """Turn one's own second factor off (clients only when staff must have it), proven
        with a current code."""
        user_id = access.require_user(actor)
        access.require_scope(actor, TokenScope.ADMIN)
        with self.store.transaction(readonly=True) as tx:
            user = tx.get_user(user_id)
        if user is None:
            raise NotFound(N_("Not found"), entity="user", id=user_id)
        if self.required(user):
            raise Conflict(N_("Staff must sign in with two factors."))
        if not self.verify(user, code):
            raise ValidationError.single("code", "wrong", WRONG_CODE)
        with self.store.transaction() as tx:
            tx.auth.delete_two_factor(user_id)
            self.record(
                tx,
                actor,
                action="user.disable_two_factor",
                entity="user",
                entity_id=user_id,
                client_id=actor.client_id,
            )

    def reset(self, actor: Actor, user_id: int) -> None:
        """An admin removes another user's second factor (a lost phone): the user's sessions
        end and it enrols again at its next sign-in (staff) or may (clients). Audited."""
        access.require(actor.role is Role.ADMIN)
        access.require_scope(actor, TokenScope.ADMIN)
        if actor.user_id == user_id:
            raise Conflict(N_("Ask another admin to reset your own second factor."))
        with self.store.transaction() as tx:
            user = tx.get_user(user_id)
            if user is None:
                raise NotFound(N_("Not found"), entity="user", id=user_id)
            tx.auth.delete_two_factor(user_id)
            end_sessions(tx, [user_id])
            self.record(
                tx,
                actor,
                action="user.reset_two_factor",
                entity="user",
                entity_id=user_id,
                client_id=user.client_id,
            )
