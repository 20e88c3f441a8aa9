"""The app factory and the web hooks: plugins add routes, menu links, template variables and
templates (overriding a built-in one through ``default:``); errors never leak a traceback."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import User
from cabinet_web.app import create_app
from cabinet_web.hookspecs import hookimpl
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route
from starlette.testclient import TestClient
from web_support import World, login


async def explode(request: Request) -> PlainTextResponse:
    raise RuntimeError("secret internals /etc/passwd")


async def hello(request: Request) -> PlainTextResponse:
    user = request.state.user
    return PlainTextResponse(f"hello {user.email if user else 'anonymous'}")


class ExamplePlugin:
    """A plugin using every web hook that shapes a page."""

    def __init__(self, templates: Path) -> None:
        self.templates = templates

    @hookimpl
    def register_routes(self, register: Callable[[BaseRoute], None]) -> None:
        register(Route("/hello", hello))
        register(Route("/explode", explode))

    @hookimpl
    def menu_links(self, actor: User | None, request: Request) -> Sequence[Mapping[str, str]]:
        return [{"href": "/hello", "label": request.state.gettext("Hello")}] if actor else []

    @hookimpl
    def extra_template_vars(self, request: Request) -> Mapping[str, Any]:
        return {"motto": "Zawsze na czas"}

    @hookimpl
    def template_dirs(self) -> Sequence[str]:
        return [str(self.templates)]


@pytest.fixture
def plugin_web(cabinet: Cabinet, tmp_path: Path) -> Iterator[TestClient]:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "login.html").write_text(
        '{% extends "default:login.html" %}'
        "{% block content %}<p class=motto>{{ motto }}</p>{{ super() }}{% endblock %}",
        encoding="utf-8",
    )
    plugin = ExamplePlugin(templates)
    cabinet.pm.register(plugin)
    try:
        with TestClient(create_app(cabinet), raise_server_exceptions=False) as client:
            yield client
    finally:
        cabinet.pm.unregister(plugin)


def test_plugin_routes_see_the_signed_in_user(plugin_web: TestClient, world: World) -> None:
    assert plugin_web.get("/hello").text == "hello anonymous"
    login(plugin_web, world.client_user.email)
    assert plugin_web.get("/hello").text == f"hello {world.client_user.email}"


def test_plugin_menu_links_appear_for_signed_in_users(plugin_web: TestClient, world: World) -> None:
    assert 'href="/hello"' not in plugin_web.get("/login").text
    page = login(plugin_web, world.client_user.email).text
    assert '<a href="/hello">Hello</a>' in page


def test_plugin_template_extends_the_builtin_one(plugin_web: TestClient) -> None:
    page = plugin_web.get("/login").text
    assert "<p class=motto>Zawsze na czas</p>" in page
    assert "Zaloguj się do Panelu Klienta" in page  # the built-in block, through super()


def test_server_error_page_hides_the_traceback(plugin_web: TestClient) -> None:
    response = plugin_web.get("/explode")
    assert response.status_code == 500
    assert "Coś poszło nie tak po naszej stronie" in response.text
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    english = plugin_web.get("/explode", headers={"Accept-Language": "en"})
    assert "Something went wrong on our side" in english.text
    api = plugin_web.get("/explode", headers={"Accept": "application/json"})
    assert api.json() == {
        "type": "https://cabinet.invalid/problems/server-error",
        "title": "Coś poszło nie tak po naszej stronie",
        "status": 500,
    }


def test_duplicate_routes_are_refused(cabinet: Cabinet) -> None:
    class Duplicate:
        @hookimpl
        def register_routes(self, register: Callable[[BaseRoute], None]) -> None:
            register(Route("/login", hello, methods=["GET"]))

    plugin = Duplicate()
    cabinet.pm.register(plugin)
    try:
        with pytest.raises(ValueError, match="registered twice"):
            create_app(cabinet)
    finally:
        cabinet.pm.unregister(plugin)


def test_branding_colours_cannot_break_out_of_the_style_element(cabinet: Cabinet) -> None:
    import attrs
    from cabinet_core.settings import Branding

    cabinet.settings = attrs.evolve(
        cabinet.settings,
        branding=Branding(firm_name="<Firma>", primary_color="red;}</style><script>x()</script>"),
    )
    with TestClient(create_app(cabinet)) as client:
        page = client.get("/login").text
    assert "<script>x()</script>" not in page
    assert "--primary: #1f4e79" in page
    assert "&lt;Firma&gt;" in page


def test_logo_is_shown_when_configured(cabinet: Cabinet) -> None:
    import attrs
    from cabinet_core.settings import Branding

    cabinet.settings = attrs.evolve(
        cabinet.settings, branding=Branding(firm_name="Lex", logo_url="/static/logo.png")
    )
    with TestClient(create_app(cabinet)) as client:
        assert '<img src="/static/logo.png"' in client.get("/login").text


def test_pages_carry_security_headers(web: TestClient) -> None:
    headers = web.get("/login").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src" not in headers["content-security-policy"]  # default-src 'self' applies


def test_failure_while_identifying_the_user_is_a_clean_500(cabinet: Cabinet) -> None:
    class BrokenSso:
        @hookimpl
        def actor_from_request(self, cabinet: Cabinet, request: Request) -> User | None:
            raise ConnectionError("identity provider unreachable at 10.0.0.7")

    plugin = BrokenSso()
    cabinet.pm.register(plugin)
    try:
        with TestClient(create_app(cabinet), raise_server_exceptions=False) as client:
            response = client.get("/login")
    finally:
        cabinet.pm.unregister(plugin)
    assert response.status_code == 500
    assert "Coś poszło nie tak po naszej stronie" in response.text
    assert "10.0.0.7" not in response.text


async def peer_post(request: Request) -> PlainTextResponse:
    return PlainTextResponse("taken")


peer_post.csrf_exempt = True  # type: ignore[attr-defined]


class PeerPlugin:
    """A server-to-server route (marked on its endpoint) beside an ordinary form route."""

    @hookimpl
    def register_routes(self, register: Callable[[BaseRoute], None]) -> None:
        register(Route("/peer", peer_post, methods=["POST"]))
        register(Route("/form", hello, methods=["POST"]))


def test_csrf_exemption_is_declared_on_the_endpoint_and_holds_for_that_app_only(
    cabinet: Cabinet,
) -> None:
    plugin = PeerPlugin()
    cabinet.pm.register(plugin)
    try:
        with TestClient(create_app(cabinet), raise_server_exceptions=False) as web:
            web.get("/login")  # a session cookie, as a browser would have
            assert web.post("/peer", data={"x": "1"}).text == "taken"
            assert web.post("/form", data={"x": "1"}).status_code == 403
    finally:
        cabinet.pm.unregister(plugin)
    # Another app of the same process, without the plugin, exempts nothing.
    with TestClient(create_app(cabinet), raise_server_exceptions=False) as web:
        web.get("/login")
        assert web.post("/peer", data={"x": "1"}).status_code in (403, 404)
