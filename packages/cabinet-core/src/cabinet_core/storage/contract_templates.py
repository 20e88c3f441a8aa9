"""The SQL of contract templates and their versions (tables in :mod:`.schema`).

A template row holds its name, kind, language, state and the number of its current version; the
text lives in ``contract_template_versions``, one row per version, never updated. The functions
take the open transaction's connection (``tx.connection``), so a service writes a template, its
version, the audit entry and the outbox row in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from cabinet_core.contract_builtins import BUILTIN_TEMPLATES
from cabinet_core.contract_templates import ContractTemplate, TemplateVersion
from cabinet_core.storage import schema as t

_t = t.contract_templates
_v = t.contract_template_versions

_CURRENT = sa.select(*_t.c, _v.c.id.label("version_id"), _v.c.body).join(
    _v, sa.and_(_v.c.template_id == _t.c.id, _v.c.version == _t.c.current_version)
)


def _template(row: RowMapping) -> ContractTemplate:
    return ContractTemplate(
        id=row["id"],
        key=row["key"],
        name=row["name"],
        contract_kind=row["contract_kind"],
        language=row["language"],
        body=row["body"],
        version=row["current_version"],
        version_id=row["version_id"],
        active=row["active"],
        builtin=row["builtin"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _version(row: RowMapping) -> TemplateVersion:
    return TemplateVersion(
        id=row["id"],
        template_id=row["template_id"],
        version=row["version"],
        body=row["body"],
        author_id=row["author_id"],
        created_at=row["created_at"],
    )


def listing(
    connection: Connection,
    *,
    active_only: bool = False,
    contract_kind: str | None = None,
    language: str | None = None,
) -> list[ContractTemplate]:
    """Templates with their current text, by kind, language and name."""
    query = _CURRENT
    if active_only:
        query = query.where(_t.c.active.is_(True))
    if contract_kind is not None:
        query = query.where(_t.c.contract_kind == contract_kind)
    if language is not None:
        query = query.where(_t.c.language == language)
    query = query.order_by(_t.c.contract_kind, _t.c.language, _t.c.name, _t.c.id)
    return [_template(row) for row in connection.execute(query).mappings()]


def get(connection: Connection, template_id: int) -> ContractTemplate | None:
    """The template with its current text, or ``None``."""
    row = connection.execute(_CURRENT.where(_t.c.id == template_id)).mappings().first()
    return _template(row) if row is not None else None


def get_version(connection: Connection, version_id: int) -> TemplateVersion | None:
    """One version of some template, or ``None``."""
    row = connection.execute(sa.select(_v).where(_v.c.id == version_id)).mappings().first()
    return _version(row) if row is not None else None


def versions(connection: Connection, template_id: int) -> list[TemplateVersion]:
    """Every version of a template, newest first."""
    query = sa.select(_v).where(_v.c.template_id == template_id).order_by(_v.c.version.desc())
    return [_version(row) for row in connection.execute(query).mappings()]


def _add_version(
    connection: Connection,
    template_id: int,
    version: int,
    body: str,
    author_id: int | None,
    now: datetime,
) -> int:
    inserted = connection.execute(
        sa.insert(_v)
        .values(
            template_id=template_id,
            version=version,
            body=body,
            author_id=author_id,
            created_at=now,
        )
        .returning(_v.c.id)
    )
    return int(inserted.scalar_one())


def add(
    connection: Connection, template: ContractTemplate, *, author_id: int | None, now: datetime
) -> ContractTemplate:
    """Insert a template and its first version."""
    values: dict[str, Any] = {
        "key": template.key,
        "name": template.name,
        "contract_kind": template.contract_kind,
        "language": template.language,
        "active": template.active,
        "builtin": template.builtin,
        "current_version": 1,
        "created_at": now,
        "updated_at": None,
    }
    template_id = int(
        connection.execute(sa.insert(_t).values(values).returning(_t.c.id)).scalar_one()
    )
    _add_version(connection, template_id, 1, template.body, author_id, now)
    stored = get(connection, template_id)
    assert stored is not None
    return stored


def update(
    connection: Connection,
    current: ContractTemplate,
    changed: ContractTemplate,
    *,
    author_id: int | None,
    now: datetime,
) -> ContractTemplate:
    """Store ``changed`` over ``current``: a new version when the text differs."""
    assert current.id is not None
    version = current.version
    if changed.body != current.body:
        version += 1
        _add_version(connection, current.id, version, changed.body, author_id, now)
    connection.execute(
        sa.update(_t)
        .where(_t.c.id == current.id)
        .values(
            name=changed.name,
            contract_kind=changed.contract_kind,
            language=changed.language,
            active=changed.active,
            current_version=version,
            updated_at=now,
        )
    )
    stored = get(connection, current.id)
    assert stored is not None
    return stored


def seed_builtins(connection: Connection, now: datetime | None = None) -> int:
    """Insert the built-in templates whose keys are missing; how many were added."""
    present = set(connection.execute(sa.select(_t.c.key)).scalars())
    added = 0
    for builtin in BUILTIN_TEMPLATES:
        if builtin.key in present:
            continue
        add(
            connection,
            ContractTemplate(
                key=builtin.key,
                name=builtin.name,
                contract_kind=builtin.contract_kind,
                language=builtin.language,
                body=builtin.body,
                builtin=True,
            ),
            author_id=None,
            now=now or datetime.now(UTC),
        )
        added += 1
    return added


__all__ = ["add", "get", "get_version", "listing", "seed_builtins", "update", "versions"]
