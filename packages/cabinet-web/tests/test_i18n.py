"""Languages: negotiation, the switch before and after signing in, and complete catalogs."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_web import catalogs
from cabinet_web.i18n import (
    LANGUAGE_COOKIE,
    choose_language,
    format_message,
    parse_accept_language,
    translations,
)
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient
from web_support import World, csrf_of, login

LOCALE = Path(catalogs.LOCALE_DIR)


def test_accept_language_honours_quality_and_regions() -> None:
    assert parse_accept_language("en-GB,en;q=0.9,pl;q=0.8", ["pl", "en"]) == "en"
    assert parse_accept_language("de-DE, pl;q=0.5, en;q=0.4", ["pl", "en"]) == "pl"
    assert parse_accept_language("en;q=0.1, pl-PL;q=0.9", ["pl", "en"]) == "pl"
    assert parse_accept_language("fr, de", ["pl", "en"]) is None
    assert parse_accept_language("en;q=0", ["pl", "en"]) is None
    assert parse_accept_language("en;q=abc, pl", ["pl", "en"]) == "pl"


@given(st.text(max_size=200))
def test_accept_language_never_fails_on_garbage(header: str) -> None:
    assert parse_accept_language(header, ["pl", "en"]) in (None, "pl", "en")


def test_choice_order_is_user_cookie_header_default() -> None:
    def choose(user: str | None, cookie: str | None, header: str) -> str:
        return choose_language(
            user_language=user,
            cookie=cookie,
            accept_language=header,
            available=("pl", "en"),
            default="pl",
        )

    assert choose("en", "pl", "pl") == "en"
    assert choose(None, "en", "pl") == "en"
    assert choose(None, "xx", "en-US") == "en"
    assert choose(None, None, "") == "pl"


def test_core_messages_are_translated_with_their_parameters() -> None:
    polish = translations("pl")
    assert format_message(polish, "This NIP is not valid (wrong check digit).") == (
        "Ten NIP jest nieprawidłowy (zła cyfra kontrolna)."
    )
    assert format_message(polish, "Ask for between 1 and %(max)s items.", {"max": 200}) == (
        "Można pobrać od 1 do 200 pozycji."
    )
    # A message whose parameters do not fit is shown untranslated-but-intact, not a crash.
    assert format_message(polish, "Welcome, %(name)s", {"other": 1}) == "Witaj, %(name)s"


def test_accept_language_picks_english_before_signing_in(web: TestClient) -> None:
    response = web.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in response.text
    assert "Sign in to your cabinet" in response.text


def test_switch_before_signing_in_sets_a_cookie_and_is_kept_after_login(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    response = web.post(
        "/language", data={"language": "en", "next": "/login", "csrf_token": csrf_of(web)}
    )
    assert response.url.path == "/login"
    assert "Sign in to your cabinet" in response.text
    assert web.cookies[LANGUAGE_COOKIE] == "en"
    home = login(web, world.client_user.email)
    assert '<html lang="en">' in home.text
    assert "Quick links" in home.text
    # The choice made on the login page is now remembered on the user.
    assert world.client_user.id is not None
    assert cabinet.users.get(Actor.system(), world.client_user.id).language == "en"


def test_switch_when_signed_in_is_remembered_per_user(
    cabinet: Cabinet, client_web: TestClient, world: World, app: object
) -> None:
    client_web.post(
        "/language", data={"language": "en", "next": "/", "csrf_token": csrf_of(client_web, "/")}
    )
    assert world.client_user.id is not None
    assert cabinet.users.get(Actor.system(), world.client_user.id).language == "en"
    # Another browser without the cookie, even one asking for Polish, gets the user's choice.
    with TestClient(app) as other:  # type: ignore[arg-type]
        page = login(other, world.client_user.email)
        assert '<html lang="pl">' not in page.text
        assert "Quick links" in other.get("/", headers={"Accept-Language": "pl"}).text


def test_unknown_language_is_ignored(client_web: TestClient) -> None:
    response = client_web.post(
        "/language", data={"language": "xx", "csrf_token": csrf_of(client_web, "/")}
    )
    assert response.status_code == 200
    assert LANGUAGE_COOKIE not in client_web.cookies


def _catalog(language: str) -> object:
    with open(LOCALE / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def test_every_extracted_message_has_a_polish_translation(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    catalogs.extract(pot)
    with open(pot, "rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    polish = _catalog("pl")
    translated = {
        message.id
        for message in polish  # type: ignore[attr-defined]
        if message.id
        and (all(message.string) if isinstance(message.string, tuple) else message.string)
        and "fuzzy" not in message.flags
    }
    missing = sorted(str(msgid) for msgid in wanted - translated)
    assert not missing, "run `python -m cabinet_web.catalogs update` and translate: " + repr(
        missing
    )


def _key(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (str(value),)


def test_compiled_catalogs_match_their_sources() -> None:
    for language in ("pl", "en"):
        source = _catalog(language)
        with open(LOCALE / language / "LC_MESSAGES" / "messages.mo", "rb") as handle:
            compiled = read_mo(handle)
        expected = {
            _key(message.id): _key(message.string)
            for message in source  # type: ignore[attr-defined]
            if message.id and message.string and all(_key(message.string))
        }
        got = {_key(message.id): _key(message.string) for message in compiled if message.id}
        # Babel writes untranslated plural forms as their msgids; anything else must match.
        fallbacks = {key: value for key, value in got.items() if key not in expected}
        assert all(key == value for key, value in fallbacks.items())
        assert {key: got.get(key) for key in expected} == expected, (
            f"run `python -m cabinet_web.catalogs compile` ({language})"
        )


def test_error_pages_exist_in_both_languages(web: TestClient) -> None:
    polish = web.get("/no-such-page")
    assert polish.status_code == 404
    assert "Nie znaleziono" in polish.text
    english = web.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "Not found" in english.text
