from __future__ import annotations

import importlib.metadata
import logging
from datetime import date
from pathlib import Path

import cabinet_hello
import pytest
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import ChatMessage, Client, Document, NewsItem, Role, User
from cabinet_core.plugins import describe_plugins


@pytest.fixture
def cabinet(tmp_path: Path):
    with Cabinet(Settings(data_dir=tmp_path)) as cab:
        yield cab


def test_the_entry_point_loads_the_plugin():
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="cabinet")}
    assert eps["cabinet_hello"].load() is cabinet_hello


def test_an_installed_cabinet_lists_the_document_type(cabinet):
    assert cabinet.pm.get_plugin("cabinet_hello") is cabinet_hello
    assert cabinet.document_type("power_of_attorney").label["pl"] == "Pełnomocnictwo"
    info = {p.name: p for p in describe_plugins(cabinet.pm)}["cabinet_hello"]
    assert info.package == "cabinet-hello"
    assert "register_document_types" in info.hooks


def test_disabling_the_plugin_removes_the_type(tmp_path):
    from cabinet_core.plugins import make_plugin_manager

    pm = make_plugin_manager(environ={"CABINET_DISABLE_PLUGINS": "cabinet_hello"})
    with Cabinet(Settings(data_dir=tmp_path), pm=pm) as cab:
        assert "power_of_attorney" not in cab.document_types


def test_menu_link_follows_the_page_language():
    starlette = pytest.importorskip("starlette.requests")
    user = User(id=1, email="anna@example.pl", role=Role.CLIENT, client_id=1)
    for language, label in (("pl", "Pełnomocnictwa"), ("en", "Powers of attorney")):
        request = starlette.Request({"type": "http", "state": {"language": language}})
        assert cabinet_hello.menu_links(actor=user, request=request) == [
            {"href": "/documents?doc_type=power_of_attorney", "label": label}
        ]
    anonymous = starlette.Request({"type": "http", "state": {"language": "pl"}})
    assert cabinet_hello.menu_links(actor=None, request=anonymous) == []


def test_menu_link_reaches_the_web_layer_through_its_hook(cabinet):
    starlette = pytest.importorskip("starlette.requests")
    pytest.importorskip("cabinet_web")
    user = User(id=1, email="anna@example.pl", role=Role.CLIENT, client_id=1)
    request = starlette.Request(
        {"type": "http", "state": {"language": "en", "gettext": lambda text: text}}
    )
    links = [
        link for group in cabinet.pm.hook.menu_links(actor=user, request=request) for link in group
    ]
    assert {"href": "/documents?doc_type=power_of_attorney", "label": "Powers of attorney"} in links


def test_event_hooks_log_a_greeting(cabinet, caplog):
    caplog.set_level(logging.INFO, logger="cabinet_hello")
    hook = cabinet.pm.hook
    client = Client(id=5, name="Żabka Sp. z o.o.")
    poa = Document(
        id=9,
        client_id=5,
        doc_type="power_of_attorney",
        status="signed",
        number="PEL/1/2026",
        issue_date=date(2026, 11, 27),
        extra={"attorney": "Jan Żółkiewski"},
    )
    hook.client_created(cabinet=cabinet, client=client, actor=None)
    hook.document_saved(cabinet=cabinet, document=poa, actor=None, created=True)
    hook.document_status_changed(
        cabinet=cabinet, document=poa, old_status="draft", new_status="signed", actor=None
    )
    hook.chat_message_posted(
        cabinet=cabinet,
        message=ChatMessage(client_id=5, author_id=1, body="Dzień dobry, pani Anno"),
        actor=None,
    )
    hook.news_published(cabinet=cabinet, news_item=NewsItem(title="KSeF od 1 lutego"))
    assert caplog.messages == [
        "Dzień dobry, Żabka Sp. z o.o.! (hello, new client #5)",
        "Power of attorney #9 drafted for Jan Żółkiewski",
        "Power of attorney PEL/1/2026 signed (was draft)",
        "Chat message in client #5: 4 words",
        "News published: KSeF od 1 lutego",
    ]
