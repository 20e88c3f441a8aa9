"""Reports: the documents an actor may see, filtered, grouped and totalled in SQL, with a chart
and CSV/XLSX exports (long ones written by the worker).

``cabinet.reports`` (:class:`ReportService`) is the use case; :class:`ReportQuery` what a report
asks for (read from a query string by :func:`report_query`); :class:`Report` what it shows.
"""

from __future__ import annotations

from cabinet_core.reports.chart import bar_chart
from cabinet_core.reports.export import FORMATS
from cabinet_core.reports.jobs import ExportJob, JobStatus
from cabinet_core.reports.query import Grouping, Ledger, ReportKind, ReportQuery, report_query
from cabinet_core.reports.service import DIRECT_ROWS, SCREEN_ROWS, ReportService
from cabinet_core.reports.totals import Amounts, Column, DocumentInfo, Report, ReportRow

__all__ = [
    "DIRECT_ROWS",
    "FORMATS",
    "SCREEN_ROWS",
    "Amounts",
    "Column",
    "DocumentInfo",
    "ExportJob",
    "Grouping",
    "JobStatus",
    "Ledger",
    "Report",
    "ReportKind",
    "ReportQuery",
    "ReportRow",
    "ReportService",
    "bar_chart",
    "report_query",
]
