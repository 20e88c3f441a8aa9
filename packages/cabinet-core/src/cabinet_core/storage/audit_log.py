"""The SQL of the audit log's search: filters, a page, a count, batches for the export.

:class:`cabinet_core.storage.Tx` exposes these as ``*_audit`` methods; the services call
those. There is no update and no delete: the log only grows.
"""

from __future__ import annotations

import json
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cabinet_core.audit import AuditFilter
from cabinet_core.entities import AuditEntry
from cabinet_core.storage import mapping
from cabinet_core.storage import schema as t

__all__ = ["count", "search"]


def _like(text: str) -> str:
    """``text`` as a case-insensitive LIKE pattern matching it anywhere, wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(
    audit_filter: AuditFilter, client_ids: Collection[int] | None
) -> list[sa.ColumnElement[bool]]:
    a = t.audit_log
    found: list[sa.ColumnElement[bool]] = []
    if client_ids is not None:
        found.append(a.c.client_id.in_(list(client_ids)))
    if audit_filter.client_id is not None:
        found.append(a.c.client_id == audit_filter.client_id)
    if audit_filter.actor_id is not None:
        found.append(a.c.actor_id == audit_filter.actor_id)
    if audit_filter.entity:
        found.append(a.c.entity == audit_filter.entity)
    if audit_filter.entity_id is not None:
        found.append(a.c.entity_id == audit_filter.entity_id)
    if audit_filter.action:
        found.append(a.c.action == audit_filter.action)
    since = audit_filter.since_instant()
    if since is not None:
        found.append(a.c.at >= since)
    until = audit_filter.until_instant()
    if until is not None:
        found.append(a.c.at < until)
    text = audit_filter.text.strip()
    if text:
        pattern = _like(text)
        u = t.users
        actors = sa.select(u.c.id).where(
            sa.or_(
                sa.func.lower(u.c.name).like(pattern, escape="\\"),
                sa.func.lower(u.c.email).like(pattern, escape="\\"),
            )
        )
        searched = (a.c.action, a.c.entity, a.c.ip, a.c.user_agent)
        detail = sa.func.lower(sa.cast(a.c.detail, sa.Text))
        # The details are stored as JSON text with non-ASCII letters escaped (\u017c for ż).
        escaped = _like(json.dumps(text.lower())[1:-1])
        found.append(
            sa.or_(
                *(sa.func.lower(column).like(pattern, escape="\\") for column in searched),
                detail.like(pattern, escape="\\"),
                detail.like(escaped, escape="\\"),
                a.c.actor_id.in_(actors),
            )
        )
    return found


def search(
    connection: Connection,
    audit_filter: AuditFilter,
    *,
    client_ids: Collection[int] | None,
    offset: int = 0,
    limit: int = 50,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """The entries matching ``audit_filter`` (and among ``client_ids`` unless ``None``),
    newest first: ``limit`` of them after ``offset``, or before the entry ``before_id``."""
    a = t.audit_log
    query = sa.select(a).where(*_conditions(audit_filter, client_ids))
    if before_id is not None:
        query = query.where(a.c.id < before_id)
    query = query.order_by(a.c.id.desc()).offset(offset).limit(limit)
    return [mapping.audit_from_row(row) for row in connection.execute(query).mappings()]


def count(
    connection: Connection, audit_filter: AuditFilter, *, client_ids: Collection[int] | None
) -> int:
    """How many entries match."""
    a = t.audit_log
    query = sa.select(sa.func.count()).select_from(a).where(*_conditions(audit_filter, client_ids))
    return int(connection.execute(query).scalar_one())
