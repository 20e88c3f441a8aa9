"""The dates and amounts pages print: the fast paths give exactly Babel's text, in both
languages, and a web process runs blocking calls in the threads its settings give."""

from __future__ import annotations

import gettext
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import anyio.to_thread
import jinja2
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from cabinet_core.app import Cabinet
from cabinet_core.plugins import make_plugin_manager
from cabinet_web import kit
from cabinet_web import plugin as web_plugin
from cabinet_web.app import create_app
from cabinet_web.i18n import babel_locale
from cabinet_web.templating import WARSAW, _current, _date, _money, make_environment
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

LANGUAGES = st.sampled_from(["pl", "en"])


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), LANGUAGES)
def test_a_date_is_babels_text(day: date, language: str) -> None:
    locale = babel_locale(language)
    assert _date(day, locale) == format_date(day, "dd.MM.yyyy", locale=locale)


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 12, 31)),
    st.sampled_from([None, UTC, timezone(timedelta(hours=-5)), WARSAW]),
    LANGUAGES,
)
def test_a_moment_is_babels_text_on_warsaws_clock(
    moment: datetime, zone: timezone | None, language: str
) -> None:
    locale = babel_locale(language)
    value = moment.replace(tzinfo=zone)
    expected = format_datetime(value, "dd.MM.yyyy HH:mm", tzinfo=WARSAW, locale=locale)
    assert _date(value, locale) == expected


@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=2),
    st.sampled_from(["PLN", "EUR", "USD", "GBP"]),
    LANGUAGES,
)
def test_a_kept_amount_is_babels_text(amount: Decimal, currency: str, language: str) -> None:
    locale = babel_locale(language)
    expected = format_currency(amount, currency, locale=locale)
    assert _money(amount, currency, locale) == expected
    assert _money(str(amount), currency, locale) == expected  # the second time from the cache


def test_blocking_calls_run_in_as_many_threads_as_the_settings_give(cabinet: Cabinet) -> None:
    async def tokens(request: Request) -> PlainTextResponse:
        limiter = anyio.to_thread.current_default_thread_limiter()
        return PlainTextResponse(str(limiter.total_tokens))

    async def thread(request: Request) -> PlainTextResponse:
        return PlainTextResponse(await kit.run(lambda: threading.current_thread().name))

    app = create_app(cabinet)
    app.router.routes.insert(0, Route("/_tokens", tokens))
    app.router.routes.insert(0, Route("/_thread", thread))
    with TestClient(app) as client:
        assert client.get("/_tokens").text == str(cabinet.settings.web_threads)
        # The services run in the app's own pool of that many threads.
        assert client.get("/_thread").text.startswith("cabinet-web")


@given(
    st.sampled_from(["Documents", "Preview of %(name)s", "100%% sure", "New: %(type)s"]),
    st.text(max_size=20),
)
def test_labels_are_jinjas_newstyle_gettext(message: str, value: str) -> None:
    # The same template rendered with Jinja's own newstyle gettext and with ours.
    source = "{{ _(message, name=value, type=value) }}" if "%(" in message else "{{ _(message) }}"
    pm = make_plugin_manager(load_entrypoints=False)
    web_plugin.ensure_registered(pm)
    ours = make_environment(pm)
    theirs = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    theirs.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    context = {"message": message, "value": value}
    expected = theirs.from_string(source).render(context)
    token = _current.set(gettext.NullTranslations())
    try:
        assert ours.from_string(source).render(context) == expected
    finally:
        _current.reset(token)
