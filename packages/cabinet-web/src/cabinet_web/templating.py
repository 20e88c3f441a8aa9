"""Page templates: Jinja2 with autoescape and newstyle gettext, overridable by plugins.

Loader order (datasette's pattern): the directories plugins return from ``template_dirs``, then
the built-in templates; ``default:`` reaches the built-in template of the same name, so a plugin
can override ``home.html`` with ``{% extends "default:home.html" %}`` and change one block.
"""

from __future__ import annotations

import contextvars
import functools
import gettext as _gettext
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import pluggy
from babel.numbers import format_currency, format_decimal
from cabinet_core.errors import N_
from cabinet_core.identifiers import country_codes
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from cabinet_web import numbers
from cabinet_web.i18n import LANGUAGE_NAMES, babel_locale, translations

_current: contextvars.ContextVar[_gettext.NullTranslations] = contextvars.ContextVar(
    "cabinet_web_translations"
)
WARSAW = ZoneInfo("Europe/Warsaw")
_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}")
ROLE_LABELS = {
    "client": N_("Client"),
    "manager": N_("Manager"),
    "accountant": N_("Accountant"),
    "admin": N_("Administrator"),
}


def _gettext_now(message: str) -> str:
    return _current.get(translations("en")).gettext(message)


def _gettext_markup(message: str, **variables: Any) -> Markup:
    """What Jinja's newstyle ``gettext`` gives in an autoescaped template (all of ours are):
    the translation as markup, formatted with the escaped ``variables``; a message without
    variables is formatted only when it holds a ``%`` (its ``%%``), as newstyle always does."""
    # Our own catalogs, trusted as the templates are (what newstyle gettext does too).
    text = Markup(_current.get(translations("en")).gettext(message))  # noqa: S704
    if variables or "%" in text:
        return text % variables
    return text


def _ngettext_now(singular: str, plural: str, n: int) -> str:
    return _current.get(translations("en")).ngettext(singular, plural, n)


def _pgettext_now(context: str, message: str) -> str:
    return _current.get(translations("en")).pgettext(context, message)


def _npgettext_now(context: str, singular: str, plural: str, n: int) -> str:
    return _current.get(translations("en")).npgettext(context, singular, plural, n)


def make_environment(pm: pluggy.PluginManager) -> jinja2.Environment:
    """The Jinja2 environment for one app: plugin template dirs first, then the built-ins."""
    builtin = jinja2.PackageLoader("cabinet_web", "templates")
    plugin_dirs: list[str] = []
    for dirs in pm.hook.template_dirs():
        plugin_dirs.extend(str(d) for d in dirs or ())
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(plugin_dirs),
            builtin,
            jinja2.PrefixLoader({"default": builtin}, delimiter=":"),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates are package data: compiled once per process, never checked for changes on
        # disk again (otherwise every render stats each template it extends or includes).
        auto_reload=False,
    )
    # The callables read the request's catalog from a context variable set around each render,
    # so one shared environment serves every language without per-request installs.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext_now, _ngettext_now, newstyle=True, pgettext=_pgettext_now, npgettext=_npgettext_now
    )
    # ``_()`` is on every label of every page: Jinja's newstyle ``gettext`` makes two context
    # calls and a format per message; this gives the same text in one plain call.
    env.globals["_"] = env.globals["gettext"] = _gettext_markup
    env.filters["css_color"] = css_color
    env.globals["role_label"] = lambda role: _gettext_now(ROLE_LABELS.get(str(role), str(role)))
    env.globals["status_choices"] = status_choices
    env.globals["state_label"] = state_label
    return env


def status_choices(doc_types: Mapping[str, Any], language: str) -> list[tuple[str, str]]:
    """Every workflow state of every type, once each, labelled in ``language``."""
    seen: dict[str, str] = {}
    for doc_type in doc_types.values():
        for state in doc_type.workflow.states:
            seen.setdefault(state.key, state.label.get(language, state.key))
    return sorted(seen.items(), key=lambda item: item[1])


def state_label(doc_type: Any, status: str, language: str) -> str:
    """The label of ``status`` in the type's workflow (the key itself for unknown states)."""
    if doc_type is None:
        return status
    try:
        return str(doc_type.workflow.state(status).label.get(language, status))
    except KeyError:
        return status


def css_color(value: str | None, fallback: str) -> str:
    """``value`` if it is a plain CSS colour (hex or a name), else ``fallback``.

    Branding comes from settings, but it lands inside a ``<style>`` element where autoescaping
    does not protect against a ``;}`` breaking out of the declaration.
    """
    if value and _COLOR.fullmatch(value.strip()):
        return value.strip()
    return fallback


class Templates:
    """Renders pages with the context every page needs (user, language, branding, CSRF token)."""

    def __init__(self, env: jinja2.Environment, pm: pluggy.PluginManager) -> None:
        self.env = env
        self.pm = pm

    def render_string(self, request: Request, name: str, context: Mapping[str, Any]) -> str:
        """Render ``name`` for ``request`` in the request's language."""
        language: str = request.state.language
        full = self.base_context(request)
        full.update(context)
        catalog = getattr(request.state, "translations", None) or translations(language)
        token = _current.set(catalog)
        try:
            return self.env.get_template(name).render(full)
        finally:
            _current.reset(token)

    def response(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        """An HTML response with the rendered page."""
        return HTMLResponse(
            self.render_string(request, name, context or {}), status_code=status_code
        )

    def base_context(self, request: Request) -> dict[str, Any]:
        """Variables available to every template (plus whatever plugins add)."""
        cabinet = request.app.state.cabinet
        user = getattr(request.state, "user", None)
        language: str = request.state.language
        locale = babel_locale(language)
        menu: list[Mapping[str, str]] = []
        for links in self.pm.hook.menu_links(actor=user, request=request):
            menu.extend(links or ())
        context: dict[str, Any] = {
            "request": request,
            "user": user,
            "lang": language,
            "languages": [
                (code, LANGUAGE_NAMES.get(code, code)) for code in cabinet.settings.languages
            ],
            "branding": cabinet.branding.effective(),
            # Absent only when an error page is rendered before the session was read.
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "menu": menu,
            "money": lambda amount, currency="PLN": _money(amount, currency, locale),
            "number": lambda value: format_decimal(value, locale=locale),
            # Prices, quantities and NBP rates to their significant decimals (numbers.py).
            "unit_price": lambda amount, currency="PLN": numbers.price_money(
                amount, currency, locale
            ),
            "quantity": lambda value: numbers.quantity(value, locale),
            "rate": lambda value: numbers.rate(value, locale),
            "price_input": lambda value: numbers.price_input(value, locale),
            "country_choices": lambda: country_choices(locale),
            "date": lambda value: _date(value, locale),
        }
        for extra in self.pm.hook.extra_template_vars(request=request):
            context.update(extra or {})
        return context


def country_choices(locale: Any) -> list[tuple[str, str]]:
    """The countries an address may name (ISO codes the FA(3) schema accepts), each with its
    name in ``locale``'s language (Babel), sorted by that name."""
    names = locale.territories
    return sorted(
        ((code, str(names.get(code, code))) for code in country_codes()),
        key=lambda pair: pair[1],
    )


def _money(amount: Decimal | str | None, currency: str, locale: Any) -> str:
    if amount is None:
        return ""
    return _formatted_money(Decimal(amount), currency, str(locale))


@functools.lru_cache(maxsize=4096)
def _formatted_money(amount: Decimal, currency: str, locale: str) -> str:
    # The same amounts come back on every list and dashboard a user opens, and Babel parses
    # and applies the locale's pattern each time (a tenth of a list page's time): keep them.
    # Equal Decimals (1.5 and 1.50) share an entry, and format to the same text at the
    # currency's digits.
    return format_currency(amount, currency, locale=locale)


def _date(value: date | datetime | None, locale: Any) -> str:
    # The pattern is all digits (dd.MM.yyyy), the same in every language, so strftime gives
    # Babel's text without its pattern machinery; a moment is shown on Warsaw's clock, a naive
    # one read as UTC (as Babel reads it).
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(WARSAW).strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")
