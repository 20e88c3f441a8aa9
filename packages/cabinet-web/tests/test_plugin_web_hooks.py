"""The web hooks a UI plugin uses besides routes: its catalogs merged into the web's
(``translation_dirs``), its static files (``static_dirs``), its entry on the admins' settings
index (``settings_pages``), and the public web kit its pages are written with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from cabinet_core import Cabinet
from cabinet_core.entities import Actor, Role, User
from cabinet_core.errors import PermissionDenied
from cabinet_web import kit
from cabinet_web.app import create_app
from cabinet_web.hookspecs import hookimpl
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from web_support import World, csrf_of, login, make_settings

GREETING = "Greetings from the plugin"


@kit.page(roles=[Role.ADMIN])
async def reminders(request: Request) -> Response:
    _ = request.state.gettext
    # "Settings" is the web's own msgid: the plugin's catalog must not re-word it.
    return PlainTextResponse(f"{_(GREETING)} | {_('Settings')}")


async def enter_as(request: Request) -> Response:
    """What a plugin that proved a user's identity its own way does (a CRM placement)."""
    cabinet = kit.cabinet_of(request)
    user: User = await kit.run(cabinet.users.get, Actor.system(), int(request.query_params["id"]))
    kit.sign_in(request, user)
    return kit.redirect("/")


class ReminderPlugin:
    def __init__(self, root: Path) -> None:
        self.root = root

    @hookimpl(optionalhook=True)
    def register_routes(self, register: Any) -> None:
        register(Route("/settings/reminders", reminders))
        register(Route("/plugin-sign-in", enter_as))

    @hookimpl(optionalhook=True)
    def translation_dirs(self) -> list[str]:
        return [str(self.root / "locale")]

    @hookimpl(optionalhook=True)
    def static_dirs(self) -> dict[str, str]:
        return {"reminders": str(self.root / "static")}

    @hookimpl(optionalhook=True)
    def settings_pages(self, actor: User, request: Request) -> list[dict[str, str]]:
        return [{"href": "/settings/reminders", "label": "Przypomnienia", "description": "o"}]


def _plugin_files(root: Path) -> None:
    for language, greeting, settings in (
        ("pl", "Pozdrowienia od wtyczki", "Ustawienia wtyczki"),
        ("en", "Greetings!", "Plugin settings"),
    ):
        catalog = Catalog(locale=language)
        catalog.add(GREETING, greeting)
        catalog.add("Settings", settings)
        folder = root / "locale" / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with open(folder / "messages.mo", "wb") as handle:
            write_mo(handle, catalog)
    (root / "static").mkdir()
    (root / "static" / "reminders.css").write_text("main { color: teal; }", encoding="utf-8")


@pytest.fixture
def plugin(tmp_path: Path) -> ReminderPlugin:
    _plugin_files(tmp_path / "plugin")
    return ReminderPlugin(tmp_path / "plugin")


@pytest.fixture
def plugged(cabinet: Cabinet, plugin: ReminderPlugin) -> Iterator[TestClient]:
    cabinet.pm.register(plugin)
    try:
        with TestClient(create_app(cabinet), base_url="http://testserver") as web:
            yield web
    finally:
        cabinet.pm.unregister(plugin)


def test_a_plugins_catalog_is_merged_without_rewording_the_web(
    plugged: TestClient, world: World
) -> None:
    login(plugged, world.admin.email)
    assert plugged.get("/settings/reminders").text == "Pozdrowienia od wtyczki | Ustawienia"
    plugged.post("/language", data={"language": "en", "csrf_token": csrf_of(plugged, "/")})
    assert plugged.get("/settings/reminders").text == "Greetings! | Settings"


def test_the_settings_index_lists_the_plugins_pages_for_admins(
    plugged: TestClient, world: World
) -> None:
    assert plugged.get("/settings", follow_redirects=False).status_code == 303
    login(plugged, world.manager.email)
    assert 'href="/settings"' not in plugged.get("/").text
    assert plugged.get("/settings").status_code == 403
    assert plugged.get("/settings/reminders").status_code == 403  # kit.page(roles=...)
    plugged.cookies.clear()
    login(plugged, world.admin.email)
    assert 'href="/settings"' in plugged.get("/").text
    index = plugged.get("/settings")
    assert index.status_code == 200
    assert 'href="/settings/reminders"' in index.text and "Przypomnienia" in index.text


def test_the_settings_index_without_plugin_pages(web: TestClient, world: World) -> None:
    # The web's own settings page (the contract templates) is listed like a plugin's.
    login(web, world.admin.email)
    index = web.get("/settings").text
    assert 'href="/settings/contract-templates"' in index
    assert "Żadna zainstalowana wtyczka nie ma własnych ustawień." not in index


def test_a_plugins_static_files_are_served_under_its_name(plugged: TestClient) -> None:
    response = plugged.get("/static/plugins/reminders/reminders.css")
    assert response.status_code == 200 and "teal" in response.text
    assert plugged.get("/static/plugins/reminders/missing.css").status_code == 404
    assert plugged.get("/static/cabinet.css").status_code == 200  # the built-ins still there


@pytest.mark.parametrize(
    ("dirs", "message"),
    [
        ({"Bad Name": "."}, "not a lower-case URL path segment"),
        ({"reminders": "/no/such/dir"}, "not a directory"),
    ],
)
def test_a_wrong_static_dir_stops_the_app(
    cabinet: Cabinet, tmp_path: Path, dirs: dict[str, str], message: str
) -> None:
    class Wrong:
        @hookimpl(optionalhook=True)
        def static_dirs(self) -> dict[str, str]:
            return dirs

    cabinet.pm.register(Wrong())
    with pytest.raises(ValueError, match=message):
        create_app(cabinet)


def test_two_plugins_claiming_one_static_name_stop_the_app(
    cabinet: Cabinet, plugin: ReminderPlugin, tmp_path: Path
) -> None:
    class Same:
        @hookimpl(optionalhook=True)
        def static_dirs(self) -> dict[str, str]:
            return {"reminders": str(tmp_path)}

    cabinet.pm.register(plugin)
    cabinet.pm.register(Same())
    with pytest.raises(ValueError, match="claimed by two plugins"):
        create_app(cabinet)


def test_kit_sign_in_starts_a_fresh_session(plugged: TestClient, world: World) -> None:
    before = csrf_of(plugged)
    response = plugged.get(f"/plugin-sign-in?id={world.accountant.id}")
    assert response.status_code == 200 and response.url.path == "/"
    assert csrf_of(plugged) != before  # nothing from before the sign-in survives
    assert f"Witaj, {world.accountant.name}" in plugged.get("/").text


def test_kit_sign_in_refuses_an_inactive_user() -> None:
    user = User(email="gone@firma.pl", name="", role=Role.MANAGER, active=False, id=7)
    request = Request({"type": "http", "session": {}, "headers": []})
    with pytest.raises(PermissionDenied):
        kit.sign_in(request, user)
    assert request.session == {}


def test_make_settings_is_still_a_plain_cabinet(tmp_path: Path) -> None:
    # The plugin namespace is empty unless set: what a plugin reads comes from settings only.
    assert make_settings(tmp_path).plugin_config("reminders") == {}
