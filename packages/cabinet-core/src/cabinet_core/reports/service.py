"""``cabinet.reports``: the reports use cases (a page, an API call, an export, a worker job).

Every method takes the acting :class:`~cabinet_core.entities.Actor` and narrows the report to
the clients it may see (:func:`cabinet_core.access.visible_client_ids`): a client's user its own
client, a manager the assigned clients, accountants and admins every client. A client id the
actor may not see gives an empty report, never another client's figures.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING

import attrs
import sqlalchemy as sa

from cabinet_core import access
from cabinet_core.entities import Actor
from cabinet_core.errors import N_, NotFound, ValidationError
from cabinet_core.reports import jobs
from cabinet_core.reports.export import FORMATS, csv_lines, write_xlsx
from cabinet_core.reports.grouping import Scope, aggregate, row_of
from cabinet_core.reports.jobs import ExportJob, JobStatus
from cabinet_core.reports.query import Grouping, Ledger, ReportQuery, report_query
from cabinet_core.reports.totals import (
    Amounts,
    Column,
    Report,
    ReportRow,
    chart_bars,
    columns,
)
from cabinet_core.services._base import Service

if TYPE_CHECKING:
    from cabinet_core.storage import Tx

__all__ = ["DIRECT_ROWS", "SCREEN_ROWS", "ReportService"]

log = logging.getLogger(__name__)

#: Rows a page shows (the exports have them all).
SCREEN_ROWS = 500
#: Exports up to this many rows download at once; longer ones run in the worker.
DIRECT_ROWS = 5000
#: Labels of the totals rows (translated by the caller's ``gettext``).
TOTAL = N_("Total")
TOTAL_PLN = N_("Total in PLN")

Gettext = Callable[[str], str]


def _same(text: str) -> str:
    return text


class ReportService(Service):
    """Reports over the documents the actor may see: tables, totals, charts and exports."""

    # -- what the report covers ------------------------------------------------------------------
    def _scope(self, tx: Tx, actor: Actor, query: ReportQuery) -> Scope:
        visible = access.visible_client_ids(tx, actor)
        types = self.cabinet.document_types
        if query.ledger is Ledger.ALL:
            keys = tuple(types)
        elif query.ledger is Ledger.OTHER:
            keys = tuple(key for key, known in types.items() if known.ledger is None)
        else:
            keys = tuple(key for key, known in types.items() if known.ledger == query.ledger.value)
        if query.doc_types:
            keys = tuple(key for key in keys if key in query.doc_types)
        today = self.now().date()
        rules = self.cabinet.tax_rules_on(today)
        permille = {
            rate.code: int(rate.percent * 10)
            for rate in rules.rates
            if rate.bears_vat and rate.percent is not None
        }
        return Scope(
            client_ids=access.narrow_client_ids(visible, query.client_ids),
            doc_types=keys,
            today=today,
            permille=permille,
        )

    def parse(self, params: Mapping[str, str]) -> ReportQuery:
        """A query from query-string parameters (see :func:`report_query`); a
        :class:`ValidationError` names every bad one."""
        return report_query(params, known_types=self.cabinet.document_types)

    def columns(self, actor: Actor, query: ReportQuery) -> tuple[Column, ...]:
        """The report's columns for ``actor`` (staff get the client column in lists)."""
        return columns(query, with_client=actor.role.is_staff)

    # -- the report as a page shows it ---------------------------------------------------------
    def run(
        self,
        actor: Actor,
        query: ReportQuery,
        *,
        limit: int = SCREEN_ROWS,
        gettext: Gettext = _same,
    ) -> Report:
        """The report: at most ``limit`` rows, the totals per currency and in PLN, the chart."""
        limit = max(1, min(limit, SCREEN_ROWS))
        with self.store.transaction(readonly=True) as tx:
            scope = self._scope(tx, actor, query)
            connection = tx.connection
            statement = aggregate(query, scope, query.group_by).limit(limit + 1)
            rows = [
                row_of(query.group_by, row, by_line=query.by_line)
                for row in connection.execute(statement).mappings()
            ]
            totals = self._totals(tx, query, scope, gettext)
            if query.group_by is Grouping.DOCUMENT:
                # A bar per document would say nothing; the list's chart is per month.
                monthly = aggregate(query, scope, Grouping.MONTH)
                chart_rows = [
                    row_of(Grouping.MONTH, row, by_line=query.by_line)
                    for row in connection.execute(monthly).mappings()
                ]
            else:
                chart_rows = rows[:limit]
        per_currency, total_pln, unconverted = totals
        return Report(
            query=query,
            columns=self.columns(actor, query),
            rows=tuple(rows[:limit]),
            truncated=len(rows) > limit,
            totals=per_currency,
            total_pln=total_pln,
            chart=chart_bars(query, chart_rows),
            unconverted=unconverted,
        )

    def _totals(
        self, tx: Tx, query: ReportQuery, scope: Scope, gettext: Gettext
    ) -> tuple[tuple[ReportRow, ...], ReportRow, int]:
        result = list(tx.connection.execute(aggregate(query, scope, None)).mappings())
        unconverted = sum(int(row["unconverted"] or 0) for row in result)
        per_currency = tuple(
            _relabel(row_of(None, row, by_line=query.by_line), gettext(TOTAL), "total")
            for row in result
        )
        return per_currency, _pln_total(per_currency, gettext(TOTAL_PLN)), unconverted

    def count(self, actor: Actor, query: ReportQuery) -> int:
        """How many rows the report's table has (all of them, not a page)."""
        with self.store.transaction(readonly=True) as tx:
            scope = self._scope(tx, actor, query)
            grouped = aggregate(query, scope, query.group_by).order_by(None).subquery()
            counted = sa.select(sa.func.count()).select_from(grouped)
            return int(tx.connection.execute(counted).scalar_one())

    @contextlib.contextmanager
    def stream(
        self, actor: Actor, query: ReportQuery, *, gettext: Gettext = _same
    ) -> Iterator[Iterator[ReportRow]]:
        """Every row of the report then its totals, read from the database as they are
        written (a server-side cursor on PostgreSQL), for the exports."""
        with self.store.transaction(readonly=True) as tx:
            scope = self._scope(tx, actor, query)

            def rows() -> Iterator[ReportRow]:
                statement = aggregate(query, scope, query.group_by)
                result = tx.connection.execution_options(
                    stream_results=True, yield_per=1000
                ).execute(statement)
                for row in result.mappings():
                    yield row_of(query.group_by, row, by_line=query.by_line)
                per_currency, total_pln, _ = self._totals(tx, query, scope, gettext)
                yield from per_currency
                yield total_pln

            yield rows()

    # -- exports ---------------------------------------------------------------------------------
    def csv(self, actor: Actor, query: ReportQuery, *, gettext: Gettext = _same) -> Iterator[str]:
        """The report as CSV text, line by line (a generator: the rows are read as it is
        consumed)."""
        cols = self.columns(actor, query)
        with self.stream(actor, query, gettext=gettext) as rows:
            yield from csv_lines(cols, rows, gettext)

    def write_xlsx(
        self,
        actor: Actor,
        query: ReportQuery,
        target: IO[bytes],
        *,
        gettext: Gettext = _same,
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Write the report as an XLSX workbook to ``target`` (a binary file); the row count."""
        cols = self.columns(actor, query)
        with self.stream(actor, query, gettext=gettext) as rows:
            return write_xlsx(
                target,
                cols,
                rows,
                gettext,
                title=gettext(N_("Report")),
                progress=progress,
            )

    def filename(self, query: ReportQuery, fmt: str) -> str:
        """The file name an export is offered under."""
        return (
            f"report-{query.kind.value}-{query.group_by.value}-{self.now().date().isoformat()}"
            f".{FORMATS[fmt][1]}"
        )

    def start_export(
        self, actor: Actor, query: ReportQuery, fmt: str, *, gettext: Gettext = _same
    ) -> ExportJob:
        """Queue the export of ``query`` for the worker; the job belongs to ``actor``."""
        user_id = access.require_user(actor)
        _check_format(fmt)
        rows = self.count(actor, query)
        labels = {column.label: gettext(column.label) for column in self.columns(actor, query)}
        for msgid in (TOTAL, TOTAL_PLN, N_("Report")):
            labels[msgid] = gettext(msgid)
        with self.store.transaction() as tx:
            return jobs.insert(
                tx.connection,
                user_id=user_id,
                params=query.params(),
                labels=labels,
                fmt=fmt,
                rows_total=rows,
                filename=self.filename(query, fmt),
                now=self.now(),
            )

    def export_job(self, actor: Actor, job_id: int) -> ExportJob:
        """The actor's own export job (anyone else's is "not found")."""
        with self.store.transaction(readonly=True) as tx:
            job = jobs.get(tx.connection, job_id)
        if job is None or actor.user_id is None or job.user_id != actor.user_id:
            raise NotFound(N_("No such export."))
        return job

    def export_file(self, actor: Actor, job_id: int) -> tuple[Path, ExportJob]:
        """The finished export's file and job, for its owner."""
        job = self.export_job(actor, job_id)
        path = self._path(job)
        if job.status is not JobStatus.DONE or not path.is_file():
            raise NotFound(N_("The export is not ready."))
        return path, job

    def _path(self, job: ExportJob) -> Path:
        return self.cabinet.settings.data_dir / "exports" / f"{job.id}.{FORMATS[job.format][1]}"

    def run_export_jobs(self, limit: int = 1) -> int:
        """Write up to ``limit`` queued exports (the worker calls this); how many it ran.
        Exports finished more than :data:`~cabinet_core.reports.jobs.KEEP_FOR` ago are
        deleted, row and file."""
        self._prune()
        ran = 0
        for _ in range(limit):
            with self.store.transaction() as tx:
                job = jobs.claim(tx.connection, self.now())
            if job is None:
                break
            self._run_job(job)
            ran += 1
        return ran

    def _prune(self) -> None:
        with self.store.transaction() as tx:
            old = jobs.expired(tx.connection, self.now())
            for job in old:
                self._path(job).unlink(missing_ok=True)
            jobs.delete(tx.connection, [job.id for job in old])

    def _run_job(self, job: ExportJob) -> None:
        path = self._path(job)
        partial = path.with_suffix(path.suffix + ".part")
        try:
            with self.store.transaction(readonly=True) as tx:
                user = tx.get_user(job.user_id)
            if user is None or not user.active:
                raise NotFound(N_("The user who asked for this export is no longer active."))
            actor = Actor.of(user)
            query = self.parse(dict(job.params))
            gettext = lambda text: job.labels.get(text, text)  # noqa: E731
            path.parent.mkdir(parents=True, exist_ok=True)

            def progress(done: int) -> None:
                with self.store.transaction() as tx:
                    jobs.progress(tx.connection, job.id, done)

            if job.format == "csv":
                done = 0
                with partial.open("w", encoding="utf-8", newline="") as out:
                    for line in self.csv(actor, query, gettext=gettext):
                        out.write(line)
                        done += 1
                        if done % 2000 == 0:
                            progress(done)
                done = max(done - 1, 0)  # the header line is not a row
            else:
                with partial.open("wb") as binary:
                    done = self.write_xlsx(actor, query, binary, gettext=gettext, progress=progress)
            os.replace(partial, path)
        except Exception as exc:
            log.exception("report export %s failed", job.id)
            partial.unlink(missing_ok=True)
            message = str(exc) if isinstance(exc, NotFound) else f"{type(exc).__name__}: {exc}"
            with self.store.transaction() as tx:
                jobs.finish(tx.connection, job.id, now=self.now(), error=message[:2000])
            return
        with self.store.transaction() as tx:
            jobs.finish(tx.connection, job.id, now=self.now(), rows_done=done)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValidationError.single("format", "choice", N_("Export as csv or xlsx."))


def _relabel(row: ReportRow, label: str, key: str) -> ReportRow:
    return attrs.evolve(row, label=label, key=key)


def _pln_total(per_currency: Sequence[ReportRow], label: str) -> ReportRow:
    """The grand total in PLN: every currency's PLN amounts added (those without a rate
    cannot be, and are left out; the report says how many)."""
    zero = Decimal("0.00")
    converted = [row for row in per_currency if row.pln is not None]
    net = sum((row.pln.net for row in converted if row.pln), zero)
    vat = sum((row.pln.vat for row in converted if row.pln), zero)
    gross = sum((row.pln.gross for row in converted if row.pln), zero)
    amounts = Amounts(net, vat, gross)
    return ReportRow(
        key="total_pln",
        label=label,
        currency="PLN",
        count=sum(row.count for row in per_currency),
        amounts=amounts,
        pln=amounts,
        paid=sum((row.paid_pln or zero for row in converted), zero),
        unpaid=sum((row.unpaid_pln or zero for row in converted), zero),
        overdue=sum((row.overdue_pln or zero for row in converted), zero),
        paid_pln=sum((row.paid_pln or zero for row in converted), zero),
        unpaid_pln=sum((row.unpaid_pln or zero for row in converted), zero),
        overdue_pln=sum((row.overdue_pln or zero for row in converted), zero),
    )
