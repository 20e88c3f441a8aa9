"""Maintaining the translation catalogs: ``python -m cabinet_web.catalogs update|compile``.

``update`` extracts msgids from cabinet-web (code and templates) and from cabinet-core (the
``N_()`` error messages), merges them into ``locale/{pl,en}/LC_MESSAGES/messages.po`` and compiles
the ``.mo`` files, which are committed so an installed package needs no build step.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

PACKAGE_DIR = Path(__file__).resolve().parent
LOCALE_DIR = PACKAGE_DIR / "locale"
POT_FILE = LOCALE_DIR / "messages.pot"
BABEL_CFG = PACKAGE_DIR.parent.parent / "babel.cfg"
KEYWORDS = ("N_", "_", "gettext", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3")


def source_dirs() -> list[Path]:
    """The ``src`` directories of cabinet-web, cabinet-core (the core's msgids are ours too) and,
    when installed, cabinet-bitrix."""
    import cabinet_core

    dirs = [PACKAGE_DIR.parent, Path(cabinet_core.__file__).resolve().parent.parent]
    try:
        # The Bitrix24 plugin's pages are translated here too; without it installed, its
        # msgids simply are not extracted.
        import cabinet_bitrix
    except ImportError:
        return dirs
    return [*dirs, Path(cabinet_bitrix.__file__).resolve().parent.parent]


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])  # type: ignore[no-untyped-call]


def extract(output: Path = POT_FILE) -> None:
    """Write the template catalog of every msgid in the sources."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    _pybabel(
        "extract",
        "-F",
        str(BABEL_CFG),
        "--no-location",
        "--sort-output",
        "--project=cabinet",
        *keywords,
        "-o",
        str(output),
        *(str(path) for path in source_dirs()),
    )


def update() -> None:
    """Extract, merge into both languages' ``.po`` files and compile them."""
    extract()
    for language in ("pl", "en"):
        po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
        if po.exists():
            _pybabel(
                "update",
                "-i",
                str(POT_FILE),
                "-d",
                str(LOCALE_DIR),
                "-l",
                language,
                "--no-fuzzy-matching",
                "--ignore-obsolete",
            )
        else:
            _pybabel("init", "-i", str(POT_FILE), "-d", str(LOCALE_DIR), "-l", language)
    compile_catalogs()


def compile_catalogs() -> None:
    """Compile every ``.po`` file to the ``.mo`` file the app loads."""
    _pybabel("compile", "-d", str(LOCALE_DIR), "--statistics")


def main(argv: Sequence[str] | None = None) -> int:
    """``update`` or ``compile``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["update"]:
        update()
    elif args == ["compile"]:
        compile_catalogs()
    else:
        print("usage: python -m cabinet_web.catalogs update|compile", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
