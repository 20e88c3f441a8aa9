"""``cabinet demo`` leaves the example plugin (cabinet-hello) out unless asked for: its greeting
and menu entry are for plugin authors, not for every demo client."""

from __future__ import annotations

from pathlib import Path

from cabinet_core.cli import make_cli
from cabinet_core.plugins import example_plugins, make_plugin_manager
from click.testing import CliRunner


def test_the_demo_leaves_the_example_plugin_out_unless_asked_for(tmp_path: Path) -> None:
    pm = make_plugin_manager(environ={})
    assert example_plugins(pm) == ["cabinet_hello"]
    result = CliRunner().invoke(
        make_cli(pm), ["demo", "--no-serve", "--data-dir", str(tmp_path / "plain")]
    )
    assert result.exit_code == 0, result.output
    assert "Example plugins left out: cabinet_hello (--with-example-plugins adds them)" in (
        result.output
    )
    assert pm.get_plugin("cabinet_hello") is None
    # Not a single hook of it is left behind: no menu link, no greeting, no document type.
    assert not [impl for impl in pm.hook.menu_links.get_hookimpls() if "hello" in impl.plugin_name]

    pm = make_plugin_manager(environ={})
    result = CliRunner().invoke(
        make_cli(pm),
        ["demo", "--no-serve", "--with-example-plugins", "--data-dir", str(tmp_path / "shown")],
    )
    assert result.exit_code == 0, result.output
    assert "left out" not in result.output
    assert pm.get_plugin("cabinet_hello") is not None
