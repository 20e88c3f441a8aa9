from __future__ import annotations

import importlib.metadata
import logging
from datetime import date
from pathlib import Path

import cabinet_hello
import pytest
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import Actor, ChatMessage, Client, Document, NewsItem, Role, User
from cabinet_core.errors import ValidationError
from cabinet_core.plugins import describe_plugins


@pytest.fixture
def cabinet(tmp_path: Path):
    with Cabinet(Settings(data_dir=tmp_path)) as cab:
        cab.migrate()
        yield cab


def test_the_entry_point_loads_the_plugin():
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="cabinet")}
    assert eps["cabinet_hello"].load() is cabinet_hello


def test_an_installed_cabinet_lists_the_document_type(cabinet):
    assert cabinet.pm.get_plugin("cabinet_hello") is cabinet_hello
    assert cabinet.document_type("power_of_attorney").label["pl"] == "Pełnomocnictwo"
    info = {p.name: p for p in describe_plugins(cabinet.pm)}["cabinet_hello"]
    assert (info.package, info.version) == ("cabinet-hello", "0.1.0")
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


def test_a_power_of_attorney_is_created_and_signed_through_the_services(cabinet, caplog):
    caplog.set_level(logging.INFO, logger="cabinet_hello")
    admin = Actor.system()
    client = cabinet.clients.create(admin, Client(name="Żabka Sp. z o.o.", nip="5260250274"))
    draft = cabinet.documents.create(
        admin,
        Document(
            client_id=client.id,
            doc_type="power_of_attorney",
            issue_date=date(2026, 11, 27),
            extra={"attorney": "Jan Żółkiewski", "acts": "Odbiór przesyłek w urzędzie"},
        ),
    )
    assert (draft.status, draft.number) == ("draft", None)
    assert draft.extra["scope"] == "specific"  # the field's default
    signed = cabinet.documents.transition(admin, draft.id, "sign")
    assert (signed.status, signed.number) == ("signed", "PEL/1/2026")
    assert cabinet.documents.get(admin, draft.id).number == "PEL/1/2026"
    assert caplog.messages == [
        f"Dzień dobry, Żabka Sp. z o.o.! (hello, new client #{client.id})",
        f"Power of attorney #{draft.id} drafted for Jan Żółkiewski",
        "Power of attorney PEL/1/2026 signed (was draft)",
    ]


def test_an_invalid_power_of_attorney_is_not_saved(cabinet):
    admin = Actor.system()
    client = cabinet.clients.create(admin, Client(name="Żabka Sp. z o.o.", nip="5260250274"))
    document = Document(
        client_id=client.id,
        doc_type="power_of_attorney",
        issue_date=date(2026, 11, 27),
        extra={"attorney": "Jan", "acts": "Wszystko", "valid_until": "2026-01-01"},
    )
    with pytest.raises(ValidationError) as caught:
        cabinet.documents.create(admin, document)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("extra.valid_until", "before_issue_date")
    ]


def test_the_home_page_template_extends_the_built_in_one(cabinet):
    templating = pytest.importorskip("cabinet_web.templating")
    starlette = pytest.importorskip("starlette.requests")
    env = templating.make_environment(cabinet.pm)
    template = env.get_template("home.html")
    assert Path(template.filename).is_relative_to(Path(cabinet_hello.__file__).parent)
    request = starlette.Request({"type": "http", "state": {"language": "en"}})
    assert cabinet_hello.extra_template_vars(request=request) == {
        "hello_greeting": "Hello from the cabinet-hello plugin!"
    }


def _signed_power_of_attorney(cabinet):
    admin = Actor.system()
    client = cabinet.clients.create(admin, Client(name="Żabka Sp. z o.o.", nip="5260250274"))
    draft = cabinet.documents.create(
        admin,
        Document(
            client_id=client.id,
            doc_type="power_of_attorney",
            issue_date=date(2026, 11, 27),
            extra={
                "attorney": "Jan Żółkiewski",
                "scope": "kind",
                "acts": "Odbiór przesyłek w urzędzie",
                "valid_until": "2027-06-30",
            },
        ),
    )
    return client, cabinet.documents.transition(admin, draft.id, "sign")


def test_a_power_of_attorney_gets_a_pdf_laid_out_from_its_fields(cabinet):
    """cabinet-pdf has no layout of its own for this type: it prints the declared fields."""
    pytest.importorskip("cabinet_pdf")
    pypdf = pytest.importorskip("pypdf")
    import io

    from cabinet_core.printing import render

    client, signed = _signed_power_of_attorney(cabinet)
    rendered = render(cabinet, signed, client, language="pl")
    assert rendered.media_type == "application/pdf"
    assert rendered.filename == "PEL-1-2026.pdf"
    reader = pypdf.PdfReader(io.BytesIO(rendered.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    for expected in (
        "Pełnomocnictwo",  # the type's own label is the title
        "PEL/1/2026",
        "Żabka Sp. z o.o.",
        "Pełnomocnik",
        "Jan Żółkiewski",
        "Rodzaj pełnomocnictwa",
        "Rodzajowe",  # a choice printed by its label
        "Zakres umocowania",
        "Odbiór przesyłek w urzędzie",
        "Ważne do",
        "2027-06-30",
    ):
        assert expected in text, expected
    assert "PROJEKT" not in text  # signed, so no draft watermark


def test_the_documents_list_offers_a_new_power_of_attorney(cabinet):
    """``offer_new`` puts the type under "New" next to the built-in ones."""
    app_module = pytest.importorskip("cabinet_web.app")
    testclient = pytest.importorskip("starlette.testclient")
    import re

    # Staff see "New" when there is a client they may write documents for.
    cabinet.clients.create(Actor.system(), Client(name="Żabka Sp. z o.o.", nip="5260250274"))
    cabinet.users.create(
        Actor.system(),
        email="admin@hello.pl",
        name="Ada",
        role=Role.ADMIN,
        client_id=None,
        password="correct-horse-9",
    )
    with testclient.TestClient(app_module.create_app(cabinet)) as web:
        form = web.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        web.post(
            "/login",
            data={
                "email": "admin@hello.pl",
                "password": "correct-horse-9",
                "csrf_token": token.group(1),
            },
        )
        page = web.get("/documents")
    assert page.status_code == 200
    assert 'href="/documents/new?type=power_of_attorney" data-test="new-power_of_attorney"' in (
        page.text
    )
    # The built-ins that declare offer_new keep their buttons.
    for key in ("cost_invoice", "proforma", "vat_invoice", "correcting_invoice"):
        assert f'data-test="new-{key}"' in page.text
    assert 'data-test="new-cash_report"' not in page.text
