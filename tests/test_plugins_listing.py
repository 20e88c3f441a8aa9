"""With every package installed, ``cabinet plugins`` lists the core's built-ins and the web, pdf
and bitrix plugins (and the example plugin), each with its distribution and hooks."""

from __future__ import annotations

from cabinet_core.cli import make_cli
from cabinet_core.plugins import DEFAULT_PLUGINS
from click.testing import CliRunner


def test_cabinet_plugins_lists_core_web_pdf_and_bitrix() -> None:
    result = CliRunner().invoke(make_cli(), ["plugins"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert set(DEFAULT_PLUGINS) <= set(rows)
    for name, package, hook in (
        ("cabinet_web", "cabinet-web", "register_routes"),
        ("cabinet_pdf", "cabinet-pdf", "register_renderers"),
        ("cabinet_bitrix", "cabinet-bitrix", "register_crm_backends"),
        ("cabinet_hello", "cabinet-hello", "menu_links"),
        ("cabinet_core.default_document_types", "cabinet-core", "register_document_types"),
    ):
        assert rows[name][1] == package
        assert hook in " ".join(rows[name][3:])
