"""Smoke test of ``bench/reports.py`` at a tiny size: the export writes every document and the
totals, traced memory is reported, and the hand-written SQL gives the report's own figures. No
test asserts a time."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _bench_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


@pytest.mark.slow
def test_the_export_benchmark_writes_every_row_and_traces_memory() -> None:
    from bench import reports

    results = reports.main(["export", "--documents", "60"])
    export = next(row for row in results if row["name"].startswith("xlsx_export_"))
    # 60 documents, then the totals per currency (PLN, EUR, USD) and the PLN total.
    assert export["rows_written"] == 60 + 3 + 1
    assert export["traced"] is True and export["peak_mib"] > 0


def test_the_bare_sql_gives_the_reports_figures(tmp_path: Path) -> None:
    from cabinet_core.app import Cabinet
    from cabinet_core.settings import Settings

    from bench import reports

    settings = Settings(data_dir=tmp_path, secret_key="t", rate_provider="offline")
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        cabinet.migrate()
        actor = reports.seed(cabinet, 80)
        report = cabinet.reports.run(actor, cabinet.reports.parse({"group_by": "month"}))
        assert actor.client_id is not None
        with cabinet.store.engine.connect() as connection:
            bare = reports._bare(connection, actor.client_id, ("vat_invoice", "correcting_invoice"))
    per_currency = {row[0]: row for row in bare if isinstance(row[0], str)}
    for total in report.totals:
        row = per_currency[total.currency]
        assert total.count == row[1]
        assert total.amounts.gross == Decimal(str(row[4])).quantize(Decimal("0.01"))
        assert total.pln is not None
        assert total.pln.gross == Decimal(str(row[7])).quantize(Decimal("0.01"))
