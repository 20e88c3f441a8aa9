"""The SQL of signing in: ``sessions``, ``password_links`` and ``two_factor``.

:class:`cabinet_core.storage.Tx` exposes these as ``tx.auth``; the services call that, never
this module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from cabinet_core.signin import LinkPurpose, PasswordLink, SignInSession, TwoFactor
from cabinet_core.storage import numbering
from cabinet_core.storage import schema as t

__all__ = ["AuthTables"]

_s = t.sessions
#: Read on every request with a session cookie: built once, not per call.
_GET_SESSION = sa.select(_s).where(_s.c.id == sa.bindparam("_session_id"))
_l = t.password_links
_f = t.two_factor


def _session(row: RowMapping) -> SignInSession:
    return SignInSession(
        id=row["id"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        user_agent=row["user_agent"],
        remote=row["remote"],
        verified=bool(row["verified"]),
    )


def _link(row: RowMapping) -> PasswordLink:
    return PasswordLink(
        id=row["id"],
        user_id=row["user_id"],
        purpose=LinkPurpose(row["purpose"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
    )


def _two_factor(row: RowMapping) -> TwoFactor:
    return TwoFactor(
        user_id=row["user_id"],
        secret=row["secret"],
        confirmed_at=row["confirmed_at"],
        recovery_codes=tuple(str(code) for code in row["recovery_codes"] or ()),
        last_step=int(row["last_step"]),
    )


class AuthTables:
    """The sign-in tables of one transaction (``tx.auth``)."""

    def __init__(self, connection: Connection, clock: Callable[[], datetime]) -> None:
        self.connection = connection
        self.clock = clock

    # -- sessions
    def add_session(self, session: SignInSession) -> SignInSession:
        self.connection.execute(
            sa.insert(_s).values(
                id=session.id,
                user_id=session.user_id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                user_agent=session.user_agent[:300],
                remote=session.remote[:100],
                verified=session.verified,
            )
        )
        return session

    def get_session(self, session_id: str) -> SignInSession | None:
        row = self.connection.execute(_GET_SESSION, {"_session_id": session_id}).mappings().first()
        return _session(row) if row is not None else None

    def list_sessions(self, user_id: int) -> list[SignInSession]:
        rows = self.connection.execute(
            sa.select(_s).where(_s.c.user_id == user_id).order_by(_s.c.last_seen_at.desc())
        ).mappings()
        return [_session(row) for row in rows]

    def touch_session(self, session_id: str, at: datetime) -> None:
        self.connection.execute(sa.update(_s).where(_s.c.id == session_id).values(last_seen_at=at))

    def verify_session(self, session_id: str) -> None:
        self.connection.execute(sa.update(_s).where(_s.c.id == session_id).values(verified=True))

    def delete_session(self, session_id: str) -> int:
        return self.connection.execute(sa.delete(_s).where(_s.c.id == session_id)).rowcount

    def delete_sessions(
        self, user_ids: list[int], *, keep: str | None = None, older_than: datetime | None = None
    ) -> int:
        """Delete the sessions of ``user_ids`` (all but ``keep``); how many went."""
        query = sa.delete(_s).where(_s.c.user_id.in_(user_ids))
        if keep is not None:
            query = query.where(_s.c.id != keep)
        if older_than is not None:
            query = query.where(_s.c.last_seen_at < older_than)
        return self.connection.execute(query).rowcount

    # -- password links
    def add_link(self, link: PasswordLink) -> PasswordLink:
        self.connection.execute(
            sa.insert(_l).values(
                id=link.id,
                user_id=link.user_id,
                purpose=link.purpose.value,
                created_at=link.created_at,
                expires_at=link.expires_at,
                used_at=link.used_at,
            )
        )
        return link

    def get_link(self, link_id: str) -> PasswordLink | None:
        row = self.connection.execute(sa.select(_l).where(_l.c.id == link_id)).mappings().first()
        return _link(row) if row is not None else None

    def use_link(self, link_id: str, at: datetime) -> bool:
        """Mark the link used; ``False`` when it already was (a concurrent second use)."""
        result = self.connection.execute(
            sa.update(_l).where(_l.c.id == link_id, _l.c.used_at.is_(None)).values(used_at=at)
        )
        return bool(result.rowcount)

    def expire_links(self, user_id: int, at: datetime) -> None:
        """Spend every unused link of the user (a new password makes older links moot)."""
        self.connection.execute(
            sa.update(_l).where(_l.c.user_id == user_id, _l.c.used_at.is_(None)).values(used_at=at)
        )

    # -- the second factor
    def get_two_factor(self, user_id: int) -> TwoFactor | None:
        row = (
            self.connection.execute(sa.select(_f).where(_f.c.user_id == user_id)).mappings().first()
        )
        return _two_factor(row) if row is not None else None

    def put_two_factor(self, factor: TwoFactor) -> TwoFactor:
        values = {
            "secret": factor.secret,
            "confirmed_at": factor.confirmed_at,
            "recovery_codes": list(factor.recovery_codes),
            "last_step": factor.last_step,
        }
        statement = numbering.dialect_insert(self.connection, _f).values(
            user_id=factor.user_id, **values
        )
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=[_f.c.user_id],
                set_={name: statement.excluded[name] for name in values},
            )
        )
        return factor

    def delete_two_factor(self, user_id: int) -> bool:
        return bool(self.connection.execute(sa.delete(_f).where(_f.c.user_id == user_id)).rowcount)
