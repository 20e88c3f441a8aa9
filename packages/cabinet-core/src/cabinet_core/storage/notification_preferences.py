"""Which notifications each user also wants by e-mail (table ``notification_preferences``).

A row exists only where a user changed the default, which is "yes, e-mail me": one row per user
and notification kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cabinet_core.storage import schema as t

__all__ = ["email_choices", "notification_preferences", "put_email_choices"]

notification_preferences = sa.Table(
    "notification_preferences",
    t.metadata,
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(50), primary_key=True),
    sa.Column("email", sa.Boolean, nullable=False),
)
_p = notification_preferences


def email_choices(connection: Connection, user_ids: Iterable[int]) -> dict[int, dict[str, bool]]:
    """User id → kind → e-mail wanted, for the kinds each user changed."""
    ids = list(user_ids)
    if not ids:
        return {}
    query = sa.select(_p.c.user_id, _p.c.kind, _p.c.email).where(_p.c.user_id.in_(ids))
    found: dict[int, dict[str, bool]] = {}
    for user_id, kind, email in connection.execute(query):
        found.setdefault(int(user_id), {})[str(kind)] = bool(email)
    return found


def put_email_choices(connection: Connection, user_id: int, choices: Mapping[str, bool]) -> None:
    """Replace the user's choices with ``choices``."""
    connection.execute(sa.delete(_p).where(_p.c.user_id == user_id))
    if choices:
        connection.execute(
            sa.insert(_p),
            [{"user_id": user_id, "kind": kind, "email": on} for kind, on in choices.items()],
        )
