"""Languages: Babel catalogs for Polish and English, and how a request's language is chosen.

The order is: the signed-in user's saved language, the language cookie (set by the switch on any
page, the login page included), the browser's ``Accept-Language``, the installation default.
Core error messages are English msgids (``cabinet_core.errors.N_``); they are in the same catalogs
because ``babel.cfg`` extracts the core's sources too.
"""

from __future__ import annotations

import functools
import gettext as _gettext
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from babel.core import Locale, UnknownLocaleError
from babel.support import Translations

LANGUAGE_COOKIE = "cabinet_lang"
LANGUAGE_NAMES = {"pl": "Polski", "en": "English"}


@functools.cache
def translations(language: str, extra_dirs: tuple[str, ...] = ()) -> _gettext.NullTranslations:
    """The compiled catalog of ``language`` (a ``NullTranslations`` when there is none), with
    the catalogs found in ``extra_dirs`` (the plugins' ``translation_dirs``) merged in.

    A plugin's catalog only adds its own msgids: where it has one the web's catalog also has,
    the web's translation stays, so a plugin cannot re-word the built-in pages.
    """
    catalog = _load_builtin(language)
    if not extra_dirs or not isinstance(catalog, Translations):
        return catalog
    for directory in extra_dirs:
        plugin = Translations.load(str(directory), [language], domain="messages")
        if isinstance(plugin, Translations):
            catalog.merge(plugin)
    # Merged last, the built-in catalog wins every msgid both have (and keeps its plural rule).
    builtin = _load_builtin(language)
    assert isinstance(builtin, Translations)
    return catalog.merge(builtin)


def _load_builtin(language: str) -> _gettext.NullTranslations:
    locale_dir = resources.files("cabinet_web") / "locale"
    with resources.as_file(locale_dir) as path:
        return Translations.load(str(path), [language], domain="messages")


def parse_accept_language(header: str, available: Iterable[str]) -> str | None:
    """The best of ``available`` for an ``Accept-Language`` header, or ``None``.

    Quality values are honoured; ``pl-PL`` matches ``pl``; malformed parts are ignored, because
    the header comes straight from the client.
    """
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            choices.append((-quality, position, tag.strip().lower()))
    wanted = set(available)
    for _, _, tag in sorted(choices):
        primary = tag.split("-")[0]
        if primary in wanted:
            return primary
    return None


def choose_language(
    *,
    user_language: str | None,
    cookie: str | None,
    accept_language: str,
    available: Iterable[str],
    default: str,
) -> str:
    """Apply the documented order (user, cookie, ``Accept-Language``, default)."""
    languages = tuple(available)
    for candidate in (user_language, cookie):
        if candidate in languages:
            return candidate
    return parse_accept_language(accept_language, languages) or default


def format_message(
    translator: _gettext.NullTranslations, message: str, params: Mapping[str, Any] | None = None
) -> str:
    """Translate a core msgid and fill in its ``%(name)s`` parameters when it has any."""
    text = translator.gettext(message)
    if params:
        try:
            return text % dict(params)
        except (KeyError, TypeError, ValueError):
            return text
    return text


def babel_locale(language: str) -> Locale:
    """The Babel locale used for number and date formatting in ``language``."""
    try:
        return Locale.parse({"pl": "pl_PL", "en": "en_GB"}.get(language, language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("pl_PL")
