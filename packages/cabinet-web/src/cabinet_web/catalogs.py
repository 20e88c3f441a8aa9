"""Maintaining translation catalogs: ``python -m cabinet_web.catalogs update|compile [PACKAGE]``.

Without ``PACKAGE``, ``update`` extracts msgids from cabinet-web (code and templates) and from
cabinet-core (the ``N_()`` error messages), merges them into
``locale/{pl,en}/LC_MESSAGES/messages.po`` and compiles the ``.mo`` files, which are committed so
an installed package needs no build step.

A plugin keeps its own catalog next to its code (``<package>/locale``), which the web merges in
through the ``translation_dirs`` hook: ``PACKAGE`` is the plugin's package directory
(``packages/cabinet-bitrix/src/cabinet_bitrix``), whose Python files and ``templates/`` are
extracted into its ``locale/``. The web names no plugin.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs
from babel.messages.frontend import CommandLineInterface

PACKAGE_DIR = Path(__file__).resolve().parent
LOCALE_DIR = PACKAGE_DIR / "locale"
POT_FILE = LOCALE_DIR / "messages.pot"
BABEL_CFG = PACKAGE_DIR.parent.parent / "babel.cfg"
KEYWORDS = ("N_", "_", "gettext", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3")
LANGUAGES = ("pl", "en")
#: A plugin package's extraction rules (paths relative to the package's parent directory).
PLUGIN_BABEL_CFG = """\
[python: {name}/**.py]
[jinja2: {name}/templates/**.html]
"""


@attrs.frozen(kw_only=True)
class CatalogSource:
    """Where a catalog's msgids come from and where its ``locale/`` directory is."""

    locale_dir: Path
    config: Path
    sources: tuple[Path, ...]

    @property
    def pot_file(self) -> Path:
        return self.locale_dir / "messages.pot"


def source_dirs() -> list[Path]:
    """The ``src`` directories of cabinet-web and cabinet-core (the core's msgids are ours too)."""
    import cabinet_core

    return [PACKAGE_DIR.parent, Path(cabinet_core.__file__).resolve().parent.parent]


def web_catalog() -> CatalogSource:
    """cabinet-web's own catalog."""
    return CatalogSource(locale_dir=LOCALE_DIR, config=BABEL_CFG, sources=tuple(source_dirs()))


def plugin_catalog(package_dir: Path, config: Path) -> CatalogSource:
    """The catalog of the plugin package at ``package_dir`` (its ``locale/``), extracted with the
    rules written to ``config``."""
    package_dir = package_dir.resolve()
    config.write_text(PLUGIN_BABEL_CFG.format(name=package_dir.name), encoding="utf-8")
    return CatalogSource(
        locale_dir=package_dir / "locale", config=config, sources=(package_dir.parent,)
    )


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])  # type: ignore[no-untyped-call]


def extract(output: Path = POT_FILE, catalog: CatalogSource | None = None) -> None:
    """Write the template catalog of every msgid in the sources (the web's by default)."""
    catalog = catalog or web_catalog()
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    _pybabel(
        "extract",
        "-F",
        str(catalog.config),
        "--no-location",
        "--sort-output",
        "--project=cabinet",
        *keywords,
        "-o",
        str(output),
        *(str(path) for path in catalog.sources),
    )


def update(catalog: CatalogSource | None = None) -> None:
    """Extract, merge into both languages' ``.po`` files and compile them."""
    catalog = catalog or web_catalog()
    catalog.locale_dir.mkdir(parents=True, exist_ok=True)
    extract(catalog.pot_file, catalog)
    for language in LANGUAGES:
        po = catalog.locale_dir / language / "LC_MESSAGES" / "messages.po"
        pot, directory = str(catalog.pot_file), str(catalog.locale_dir)
        if po.exists():
            _pybabel(
                "update",
                "-i",
                pot,
                "-d",
                directory,
                "-l",
                language,
                "--no-fuzzy-matching",
                "--ignore-obsolete",
            )
        else:
            _pybabel("init", "-i", pot, "-d", directory, "-l", language)
    compile_catalogs(catalog)


def compile_catalogs(catalog: CatalogSource | None = None) -> None:
    """Compile every ``.po`` file to the ``.mo`` file the app loads."""
    catalog = catalog or web_catalog()
    _pybabel("compile", "-d", str(catalog.locale_dir), "--statistics")


def main(argv: Sequence[str] | None = None) -> int:
    """``update`` or ``compile``, of the web's catalog or of the plugin package given."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (1, 2) or args[0] not in ("update", "compile"):
        print("usage: python -m cabinet_web.catalogs update|compile [PACKAGE_DIR]", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        catalog = (
            plugin_catalog(Path(args[1]), Path(scratch) / "babel.cfg") if len(args) == 2 else None
        )
        if args[0] == "update":
            update(catalog)
        else:
            compile_catalogs(catalog)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
