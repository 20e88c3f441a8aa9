"""Report exports too long to download at once: the ``report_exports`` table's rows and SQL.

A job is queued by the user who asked for it and belongs to that user alone; the worker claims
the oldest queued one (a conditional ``UPDATE`` so two workers never take the same job), writes
the file under ``data_dir/exports`` with its progress in ``rows_done``, and marks it ``done`` or
``failed``. A job left ``running`` by a worker that died is claimed again after
:data:`STALE_AFTER`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from cabinet_core.storage import schema as t

__all__ = ["KEEP_FOR", "STALE_AFTER", "ExportJob", "JobStatus"]

STALE_AFTER = timedelta(hours=1)
#: How long a finished export (its row and its file) is kept: a report is a snapshot of
#: financial data, not an archive.
KEEP_FOR = timedelta(days=7)
_j = t.report_exports


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@attrs.frozen(kw_only=True)
class ExportJob:
    """One background export: what to export (the report's ``params`` and the column
    ``labels`` translated when it was asked for), its progress and its file's name."""

    id: int
    user_id: int
    params: Mapping[str, str]
    labels: Mapping[str, str]
    format: str
    status: JobStatus
    rows_done: int
    rows_total: int | None
    filename: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        """How far the job is, 0-100 (100 only when done)."""
        if self.status is JobStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)

    @property
    def finished(self) -> bool:
        """Done or failed: nothing more will happen to it."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


def _job(row: RowMapping) -> ExportJob:
    return ExportJob(
        id=row["id"],
        user_id=row["user_id"],
        params=dict(row["params"]),
        labels=dict(row["labels"]),
        format=row["format"],
        status=JobStatus(row["status"]),
        rows_done=row["rows_done"],
        rows_total=row["rows_total"],
        filename=row["filename"],
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def insert(
    connection: Connection,
    *,
    user_id: int,
    params: Mapping[str, str],
    labels: Mapping[str, str],
    fmt: str,
    rows_total: int,
    filename: str,
    now: datetime,
) -> ExportJob:
    """Queue a job."""
    values = {
        "user_id": user_id,
        "params": dict(params),
        "labels": dict(labels),
        "format": fmt,
        "status": JobStatus.QUEUED.value,
        "rows_done": 0,
        "rows_total": rows_total,
        "filename": filename,
        "created_at": now,
    }
    job_id = connection.execute(sa.insert(_j).values(values).returning(_j.c.id)).scalar_one()
    found = get(connection, int(job_id))
    assert found is not None
    return found


def get(connection: Connection, job_id: int) -> ExportJob | None:
    """The job, or ``None``."""
    row = connection.execute(sa.select(_j).where(_j.c.id == job_id)).mappings().first()
    return _job(row) if row is not None else None


def claim(connection: Connection, now: datetime) -> ExportJob | None:
    """Take the oldest queued job (or one a dead worker left running); ``None`` if none."""
    claimable = sa.or_(
        _j.c.status == JobStatus.QUEUED.value,
        sa.and_(_j.c.status == JobStatus.RUNNING.value, _j.c.started_at < now - STALE_AFTER),
    )
    candidate = connection.execute(
        sa.select(_j.c.id, _j.c.status, _j.c.started_at).where(claimable).order_by(_j.c.id).limit(1)
    ).first()
    if candidate is None:
        return None
    taken = connection.execute(
        sa.update(_j)
        .where(
            _j.c.id == candidate.id,
            _j.c.status == candidate.status,
            _j.c.started_at.is_(None)
            if candidate.started_at is None
            else _j.c.started_at == candidate.started_at,
        )
        .values(status=JobStatus.RUNNING.value, started_at=now, rows_done=0)
    )
    if taken.rowcount != 1:
        return None
    return get(connection, int(candidate.id))


def progress(connection: Connection, job_id: int, rows_done: int) -> None:
    """Record how many rows are written."""
    connection.execute(sa.update(_j).where(_j.c.id == job_id).values(rows_done=rows_done))


def finish(
    connection: Connection,
    job_id: int,
    *,
    now: datetime,
    rows_done: int | None = None,
    error: str | None = None,
) -> None:
    """Mark the job done (``error`` ``None``) or failed."""
    values: dict[str, Any] = {
        "status": (JobStatus.FAILED if error else JobStatus.DONE).value,
        "finished_at": now,
        "error": error,
    }
    if rows_done is not None:
        values["rows_done"] = rows_done
    connection.execute(sa.update(_j).where(_j.c.id == job_id).values(values))


def expired(connection: Connection, now: datetime) -> list[ExportJob]:
    """Finished jobs older than :data:`KEEP_FOR`, which are deleted with their files."""
    rows = connection.execute(
        sa.select(_j).where(_j.c.finished_at.is_not(None), _j.c.finished_at < now - KEEP_FOR)
    ).mappings()
    return [_job(row) for row in rows]


def delete(connection: Connection, job_ids: list[int]) -> None:
    """Forget the jobs."""
    if job_ids:
        connection.execute(sa.delete(_j).where(_j.c.id.in_(job_ids)))
