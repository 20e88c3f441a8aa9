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

    A plugin's catalog only adds msgids the web does not have, so a plugin cannot re-word the
    built-in pages (in English, where the web's msgids are their own translation, too).
    """
    catalog = _load_builtin(language)
    if not extra_dirs or not isinstance(catalog, Translations):
        return catalog
    builtin_ids = _builtin_msgids()
    for directory in extra_dirs:
        plugin = Translations.load(str(directory), [language], domain="messages")
        if not isinstance(plugin, Translations):
            continue  # the plugin has no catalog for this language
        # gettext keeps messages in ``_catalog`` (Babel's own merge reads it the same way): a
        # plural's key is ``(msgid, n)``, the header's is "".
        own = Translations()
        own._catalog = {
            key: text
            for key, text in plugin._catalog.items()
            if key and (key[0] if isinstance(key, tuple) else key) not in builtin_ids
        }
        catalog.merge(own)
    return catalog


@functools.cache
def _builtin_msgids() -> frozenset[str]:
    # Polish translates every msgid the web has (tests/test_i18n.py keeps it so), so its keys are
    # the web's msgids, English ones included.
    polish = _load_builtin("pl")
    messages = getattr(polish, "_catalog", {})
    return frozenset(key[0] if isinstance(key, tuple) else key for key in messages if key)


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
