"""cabinet-ksef ships its own Polish and English catalogs (``locale/``), merged into the web's
through ``translation_dirs``: every msgid of the plugin has a Polish translation, and the
committed ``.mo`` files are compiled from the ``.po`` files."""

from __future__ import annotations

from pathlib import Path

import cabinet_ksef
import cabinet_ksef.plugin
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from cabinet_web import catalogs

PACKAGE = Path(cabinet_ksef.__file__).resolve().parent
LOCALE = PACKAGE / "locale"


def test_the_plugin_offers_its_catalogs_and_templates() -> None:
    assert cabinet_ksef.plugin.translation_dirs() == [str(LOCALE)]
    [templates] = cabinet_ksef.plugin.template_dirs()
    assert (Path(templates) / "ksef_client.html").is_file()


def test_every_message_of_the_plugin_has_a_polish_translation(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    catalogs.extract(pot, catalogs.plugin_catalog(PACKAGE, tmp_path / "babel.cfg"))
    with open(pot, "rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    assert "Test connection" in wanted  # guards the extraction itself
    with open(LOCALE / "pl" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        polish = read_po(handle, locale="pl")
    translated = {m.id for m in polish if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(str(msgid) for msgid in wanted - translated)
    assert not missing, (
        "run `python -m cabinet_web.catalogs update plugins/cabinet-ksef/src/cabinet_ksef` "
        f"and translate: {missing!r}"
    )


def test_the_compiled_catalogs_match_their_sources() -> None:
    for language in ("pl", "en"):
        folder = LOCALE / language / "LC_MESSAGES"
        with open(folder / "messages.po", "rb") as handle:
            source = {m.id: m.string for m in read_po(handle, locale=language) if m.id and m.string}
        with open(folder / "messages.mo", "rb") as handle:
            compiled = {m.id: m.string for m in read_mo(handle) if m.id}
        assert {key: compiled.get(key) for key in source} == source, language
