"""``cabinet --version``: every installed cabinet distribution with its version, third-party
plugins found through the ``cabinet`` entry-point group included."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from pathlib import Path

import pytest
from cabinet_core.cli import make_cli
from cabinet_core.versions import installed_versions, version_report
from click.testing import CliRunner


def _fake_plugin_distribution(site: Path) -> None:
    """A distribution as pip would leave it: a ``.dist-info`` with metadata and an entry point."""
    info = site / "cabinet_invoices_plus-2.3.4.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Cabinet_Invoices.Plus\nVersion: 2.3.4\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[cabinet]\ninvoices_plus = invoices_plus\n", encoding="utf-8"
    )


def test_version_prints_the_core_first_and_python_last() -> None:
    result = CliRunner().invoke(make_cli(), ["--version"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"cabinet-core {importlib.metadata.version('cabinet-core')}"
    assert lines[-1] == f"Python {platform.python_version()}"


def test_version_needs_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An eager option: nothing is opened, so it works on a machine not yet configured."""
    data = tmp_path / "never-made"
    monkeypatch.setenv("CABINET_DATA_DIR", str(data))
    result = CliRunner().invoke(make_cli(), ["--version"], catch_exceptions=False)
    assert result.exit_code == 0
    assert not data.exists()


def test_a_third_party_plugin_is_listed_once_under_its_normalised_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_plugin_distribution(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    versions = installed_versions()
    assert versions.count(("cabinet-invoices-plus", "2.3.4")) == 1
    assert versions[0][0] == "cabinet-core"
    assert "cabinet-invoices-plus 2.3.4" in version_report().splitlines()
