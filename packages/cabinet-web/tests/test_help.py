"""/help: the guides in the cabinet, in the reader's language, linked from the menu."""

from __future__ import annotations

from starlette.testclient import TestClient
from web_support import World, login


def test_menu_leads_a_client_to_the_clients_guide_in_its_language(
    web: TestClient, world: World
) -> None:
    login(web, world.client_user.email)
    home = web.get("/")
    assert 'href="/help"' in home.text
    web.cookies.set("lang", "pl")
    guide = web.get("/help")
    assert guide.url.path == "/help/user-guide"
    assert guide.status_code == 200
    # The reader's language comes from the profile first; both guides say what the cabinet does.
    assert ("Przewodnik klienta" in guide.text) or ("User guide" in guide.text)
    assert "<table>" in guide.text  # Markdown tables are rendered, not shown as pipes
    assert "Staff guide" not in guide.text and "Przewodnik pracownika" not in guide.text
    assert web.get("/help/staff-guide").status_code == 403


def test_staff_get_their_guide_and_links_between_guides_stay_in_the_cabinet(
    web: TestClient, world: World
) -> None:
    login(web, world.accountant.email)
    guide = web.get("/help")
    assert guide.url.path == "/help/staff-guide"
    assert 'href="/help/user-guide' in guide.text
    # Links to documentation the cabinet does not serve keep their text and lose the link.
    assert 'href="configuration.md' not in guide.text and 'href="bitrix24.md' not in guide.text
    # Headings keep their anchors, so links such as user-guide.md#reports land on the section.
    assert ('id="cost-invoices-to-approve"' in guide.text) or (
        'id="faktury-kosztowe-do-zatwierdzenia"' in guide.text
    )


def test_both_languages_are_served(web: TestClient, world: World) -> None:
    for language, title in (("pl", "Przewodnik klienta"), ("en", "User guide")):
        page = web.get("/help/user-guide", headers={"Accept-Language": language})
        assert page.status_code == 200
        assert f"<h1>{title}" in page.text
        assert 'lang="' + language + '"' in page.text


def test_signed_out_visitors_find_help_on_the_login_page(web: TestClient) -> None:
    login_page = web.get("/login")
    assert 'href="/help/user-guide"' in login_page.text
    assert web.get("/help").url.path == "/help/user-guide"


def test_the_guides_pictures_are_served_beside_them(web: TestClient) -> None:
    page = web.get("/help/user-guide", headers={"Accept-Language": "en"})
    assert 'src="/help/screenshots/en-client-home.jpg"' in page.text
    picture = web.get("/help/screenshots/en-client-home.jpg")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.content[:3] == b"\xff\xd8\xff"  # a JPEG
    assert web.get("/help/screenshots/../../pages/help.py").status_code == 404
    assert web.get("/help/screenshots/missing-page.jpg").status_code == 404
