"""cabinet-bitrix's web routes against the emulator: the install (tokens stored, events,
placements and the Open Lines connector bound), events checked by their application token and
dispatched (feed → news, Open Lines → chat), junk refused with 400, staff signed in from a
placement without a password, and the admins' settings page."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlencode

import httpx
import httpx2
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from bitrix_web_support import BASE_URL, emulated_cabinet, events_to
from cabinet_bitrix.auth import PortTokenStore
from cabinet_bitrix.chat import CONNECTOR_ID
from cabinet_bitrix.inbound import MAX_EVENT_BYTES
from cabinet_bitrix.web import settings_overview
from cabinet_core.entities import Actor, Client, Role, User
from cabinet_web.app import create_app
from starlette.testclient import TestClient

SYSTEM = Actor.system()
ADMIN_EMAIL = "anna.nowak@kancelaria.example"  # the emulated portal's user 1
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def emulator():
    return Emulator(clock=VirtualClock())


@pytest.fixture
def environ(emulator):
    return {
        "CABINET_BITRIX_CLIENT_ID": emulator.app.client_id,
        "CABINET_BITRIX_CLIENT_SECRET": emulator.app.client_secret,
        "CABINET_BITRIX_MEMBER_ID": emulator.portal.member_id,
        "CABINET_BITRIX_TOKEN_URL": emulator.config.portal_url + "/oauth/token/",
        "CABINET_BITRIX_NEWS_GROUP": "12",
        "CABINET_BITRIX_OPENLINE": "1",
    }


@pytest.fixture
def cabinet(tmp_path, emulator, environ):
    with emulated_cabinet(tmp_path, emulator, environ) as cab:
        yield cab


@pytest.fixture
def app(cabinet, emulator):
    web_app = create_app(cabinet)
    # The placement's token is checked with the portal: here the emulator, in-process.
    web_app.state.bitrix_transport = emulator.transport()
    return web_app


@pytest.fixture
def web(app, emulator):
    with (
        TestClient(app, base_url=BASE_URL) as browser,
        TestClient(app, base_url=BASE_URL) as portal_side,
    ):
        emulator.event_transport = events_to(portal_side)
        yield browser


@pytest.fixture
def installed(cabinet, emulator, web):
    emulator.install_app(handler=f"{BASE_URL}/hooks/bitrix24")
    tokens = PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id)
    assert tokens is not None
    return tokens


def test_install_stores_tokens_and_binds_events_placements_and_the_connector(
    cabinet, emulator, installed
):
    assert installed.application_token == emulator.app.application_token
    bound = {(b.event, b.handler) for b in emulator.portal.bindings}
    hook = f"{BASE_URL}/hooks/bitrix24"
    for event in (
        "ONCRMQUOTEUPDATE",
        "ONCRMDYNAMICITEMUPDATE",
        "ONLIVEFEEDPOSTADD",
        "ONLIVEFEEDPOSTUPDATE",
        "ONLIVEFEEDPOSTDELETE",
        "ONIMCONNECTORMESSAGEADD",
    ):
        assert (event, hook) in bound
    placements = {p["placement"]: p["handler"] for p in emulator.portal.placements}
    assert placements["DEFAULT"] == f"{BASE_URL}/bitrix24/placement"
    assert emulator.portal.connectors[CONNECTOR_ID]["lines"]["1"]["active"] is True
    # Installing again binds nothing twice.
    emulator.install_app(handler=hook)
    assert len(emulator.portal.bindings) == len(bound)


def test_install_tokens_must_be_confirmed_by_the_oauth_server(cabinet, emulator, web):
    # Nothing installed yet, and a form names the right portal but an address of its own.
    forged = {
        "event": "ONAPPINSTALL",
        "auth[access_token]": "a",
        "auth[refresh_token]": "r",
        "auth[domain]": "evil.example",
        "auth[client_endpoint]": "https://evil.example/rest/",
        "auth[member_id]": emulator.portal.member_id,
        "auth[application_token]": "x",
    }
    refused = web.post("/hooks/bitrix24", content=urlencode(forged), headers=FORM)
    assert refused.status_code == 403
    assert PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id) is None
    assert emulator.portal.bindings == []
    # The real install is confirmed; a reinstall (a new pair) replaces it.
    emulator.install_app(handler=f"{BASE_URL}/hooks/bitrix24")
    first = PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id)
    assert first is not None and first.client_endpoint == "https://kancelaria.bitrix24.pl/rest/"
    emulator.install_app(handler=f"{BASE_URL}/hooks/bitrix24")
    second = PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id)
    assert second is not None and second.refresh_token != first.refresh_token


def test_a_foreign_install_or_one_with_another_token_is_refused(cabinet, emulator, web, installed):
    form = {
        "event": "ONAPPINSTALL",
        "auth[access_token]": "a",
        "auth[refresh_token]": "r",
        "auth[domain]": "evil.example",
        "auth[member_id]": "someone-else",
        "auth[application_token]": "x",
    }
    assert web.post("/hooks/bitrix24", content=urlencode(form), headers=FORM).status_code == 403
    form["auth[member_id]"] = emulator.portal.member_id
    assert web.post("/bitrix24/install", content=urlencode(form), headers=FORM).status_code == 403
    stored = PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id)
    assert stored == installed


def test_feed_events_bring_news_and_wrong_tokens_change_nothing(cabinet, emulator, web, installed):
    post_id = emulator.act(
        "log.blogpost.add",
        {"POST_TITLE": "Nowe stawki", "POST_MESSAGE": "Od stycznia", "DEST": ["SG12"]},
    )
    (item,) = cabinet.news.list(SYSTEM).items
    assert (item.title, item.external_id) == ("Nowe stawki", f"b24:post:{post_id}")
    emulator.act("log.blogpost.delete", {"POST_ID": post_id})
    assert cabinet.news.list(SYSTEM).total == 0
    emulator.act("log.blogpost.add", {"POST_TITLE": "Drugi", "POST_MESSAGE": "x", "DEST": ["SG12"]})
    forged = {
        "event": "ONLIVEFEEDPOSTDELETE",
        "data[FIELDS][POST_ID]": "1",
        "auth[member_id]": emulator.portal.member_id,
        "auth[application_token]": "forged",
    }
    refused = web.post("/hooks/bitrix24", content=urlencode(forged), headers=FORM)
    assert refused.status_code == 403
    assert [n.title for n in cabinet.news.list(SYSTEM).items] == ["Drugi"]
    deliveries = [d for d in emulator.portal.deliveries if d.event.startswith("ONLIVEFEED")]
    assert {d.status for d in deliveries} == {200}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"event": "ONCRMQUOTEUPDATE"}', "application/json"),
        (b"", "application/x-www-form-urlencoded"),
        (b"event=ONCRMQUOTEUPDATE", "application/x-www-form-urlencoded"),
        (b"auth[application_token]=x", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"event=ONAPPINSTALL&auth[member_id]=m", "application/x-www-form-urlencoded"),
    ],
)
def test_junk_is_a_400_never_a_500(web, body, content_type):
    response = web.post("/hooks/bitrix24", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500


def test_an_operators_answer_reaches_the_clients_chat(cabinet, emulator, web, installed):
    with cabinet.store.transaction() as tx:
        client = tx.add_client(Client(name="Zażółć sp. z o.o."))
        jan = tx.add_user(User(email="jan@zazolc.example", name="Jan", client_id=client.id))
    question = cabinet.chat.post(Actor.of(jan), client_id=client.id, body="Pytanie")
    from cabinet_bitrix.chat import push_message

    backend = cabinet.crm_backend("bitrix24")
    assert push_message(cabinet.sync_port("bitrix24"), backend, question) == "sent to Open Lines"
    emulator.operator_reply(CONNECTOR_ID, "1", f"client-{client.id}", "Odpowiedź", user_id=1)
    assert [m.body for m in cabinet.chat.list(SYSTEM, client.id)] == ["Pytanie", "Odpowiedź"]


def staff(cabinet, email, role=Role.ADMIN):
    with cabinet.store.transaction() as tx:
        return tx.add_user(User(email=email, name="Anna", role=role))


def test_placement_signs_staff_in_without_a_password(cabinet, emulator, app, web, installed):
    staff(cabinet, ADMIN_EMAIL)
    form = emulator.placement_form("DEFAULT", user_id=1)
    page = web.post("/bitrix24/placement", data=form)
    assert page.status_code == 200, page.text
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors https://kancelaria.bitrix24.pl;" in policy
    # The session works in this browser...
    assert web.get("/settings/bitrix24").status_code == 200
    # ...and the link opens the cabinet in a window of its own, once signed in there too.
    link = re.search(r'href="([^"]+/bitrix24/sign-in\?token=[^"]+)"', page.text)
    assert link
    with TestClient(app, base_url=BASE_URL) as window:
        opened = window.get(link.group(1).replace("&amp;", "&"))
        assert opened.url.path == "/" and opened.status_code == 200
        assert window.get("/settings/bitrix24").status_code == 200
    # The link works once: replayed within its minute (a copied URL, a proxy's log), it opens
    # nothing.
    with TestClient(app, base_url=BASE_URL) as replay:
        again = replay.get(link.group(1).replace("&amp;", "&"), follow_redirects=False)
        assert again.headers["location"] == "/login"
        assert replay.get("/settings/bitrix24", follow_redirects=False).status_code == 303
    with TestClient(app, base_url=BASE_URL) as stranger:
        forged = stranger.get("/bitrix24/sign-in?token=forged", follow_redirects=False)
        assert forged.headers["location"] == "/login"


def test_placement_refuses_unknown_users_other_portals_and_forged_tokens(
    cabinet, emulator, web, installed
):
    staff(cabinet, "someone@firm.example")
    unknown = web.post("/bitrix24/placement", data=emulator.placement_form(user_id=2))
    assert unknown.status_code == 403 and "Bitrix24" in unknown.text
    assert (
        "frame-ancestors https://kancelaria.bitrix24.pl"
        in unknown.headers["content-security-policy"]
    )
    forged = {**emulator.placement_form(user_id=1), "AUTH_ID": "forged"}
    assert web.post("/bitrix24/placement", data=forged).status_code == 403
    other = {**emulator.placement_form(user_id=1), "member_id": "another-portal"}
    assert web.post("/bitrix24/placement", data=other).status_code == 403
    # A client's user never gets in through Bitrix24, even with a matching e-mail.
    with cabinet.store.transaction() as tx:
        owner = tx.add_client(Client(name="Klient"))
        tx.add_user(User(email=ADMIN_EMAIL, name="Anna", client_id=owner.id))
    client_user = web.post("/bitrix24/placement", data=emulator.placement_form(user_id=1))
    assert client_user.status_code == 403
    assert web.get("/settings/bitrix24", follow_redirects=False).status_code == 303


def test_settings_page_for_admins_only(cabinet, emulator, app, web, installed):
    admin = staff(cabinet, ADMIN_EMAIL)
    overview = settings_overview(cabinet)
    assert overview["mode"] == "app" and overview["installed"] and overview["news_group"] == 12
    web.post("/bitrix24/placement", data=emulator.placement_form(user_id=1))
    page = web.get("/settings/bitrix24")
    assert page.status_code == 200
    assert f"{BASE_URL}/hooks/bitrix24" in page.text and "SG12" in page.text
    assert 'href="/settings"' in page.text  # the admin's menu link to the settings index
    index = web.get("/settings")
    assert 'href="/settings/bitrix24"' in index.text and "Połączenie z Bitrix24" in index.text
    assert web.get("/static/plugins/bitrix24/placement.css").status_code == 200
    manager = staff(cabinet, "piotr.wisniewski@kancelaria.example", Role.MANAGER)
    web.post("/bitrix24/placement", data=emulator.placement_form(user_id=2))
    assert web.get("/settings/bitrix24").status_code == 403
    assert admin.id != manager.id


def test_webhook_mode_takes_events_signed_with_the_saved_outgoing_webhook_token(tmp_path, emulator):
    env = {
        "CABINET_BITRIX_WEBHOOK_URL": emulator.webhook_url,
        "CABINET_BITRIX_NEWS_GROUP": "12",
    }
    with (
        emulated_cabinet(tmp_path, emulator, env) as cabinet,
        TestClient(create_app(cabinet), base_url=BASE_URL) as web,
    ):
        cabinet.users.create(
            SYSTEM,
            email="admin@firm.example",
            name="Ada",
            role=Role.ADMIN,
            client_id=None,
            password="bitrix-admin-2026",
        )
        page = web.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        login = {
            "email": "admin@firm.example",
            "password": "bitrix-admin-2026",
            "csrf_token": token,
        }
        web.post("/login", data=login)
        settings = web.get("/settings/bitrix24")
        assert settings.status_code == 200 and 'name="application_token"' in settings.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', settings.text).group(1)
        web.post("/settings/bitrix24", data={"application_token": "out-123", "csrf_token": token})
        assert settings_overview(cabinet)["webhook_token_saved"] is True
        assert settings_overview(cabinet)["mode"] == "webhook"
        # A secret: the audit trail names the admin and the key, never the token.
        with cabinet.store.transaction(readonly=True) as tx:
            (entry,) = [e for e in tx.list_audit(limit=50) if e.action == "settings.set"]
        assert entry.actor_id is not None
        assert entry.detail == {"key": "bitrix24.application_token", "secret": True}
        assert "out-123" not in repr(entry)

        post = {"POST_TITLE": "Z webhooka", "POST_MESSAGE": "x", "DEST": ["SG12"]}
        emulator.act("log.blogpost.add", post)
        event = {
            "event": "ONLIVEFEEDPOSTADD",
            "data[FIELDS][POST_ID]": "200",
            "auth[domain]": emulator.domain,
            "auth[application_token]": "wrong",
        }
        refused = web.post("/hooks/bitrix24", content=urlencode(event), headers=FORM)
        assert refused.status_code == 403
        assert cabinet.news.list(SYSTEM).total == 0
        event["auth[application_token]"] = "out-123"
        accepted = web.post("/hooks/bitrix24", content=urlencode(event), headers=FORM)
        assert accepted.status_code == 200
        assert [n.title for n in cabinet.news.list(SYSTEM).items] == ["Z webhooka"]


def test_the_tab_on_a_quote_opens_that_documents_page(
    cabinet, emulator, app, web, installed, document
):
    staff(cabinet, ADMIN_EMAIL)
    item_id = cabinet.crm_backend("bitrix24").push_document(cabinet.sync_port("bitrix24"), document)
    bound = {p["placement"] for p in emulator.portal.placements}
    assert "CRM_QUOTE_DETAIL_TAB" in bound
    form = emulator.placement_form("CRM_QUOTE_DETAIL_TAB", {"ID": str(item_id)}, user_id=1)
    page = web.post("/bitrix24/placement", data=form)
    link = re.search(r'href="([^"]+/bitrix24/sign-in\?token=[^"]+)"', page.text)
    assert link
    with TestClient(app, base_url=BASE_URL) as window:
        opened = window.get(link.group(1), follow_redirects=False)
        assert opened.headers["location"] == f"/documents/{document.id}"
    # A card of something else leads to the staff home.
    other = emulator.placement_form("CRM_QUOTE_DETAIL_TAB", {"ID": "999999"}, user_id=1)
    link = re.search(
        r'href="([^"]+/bitrix24/sign-in\?token=[^"]+)"',
        web.post("/bitrix24/placement", data=other).text,
    )
    assert link
    with TestClient(app, base_url=BASE_URL) as window:
        assert window.get(link.group(1), follow_redirects=False).headers["location"] == "/"


def test_uninstalling_the_app_drops_its_tokens(cabinet, emulator, web, installed):
    assert ("ONAPPUNINSTALL", f"{BASE_URL}/hooks/bitrix24") in {
        (b.event, b.handler) for b in emulator.portal.bindings
    }
    # As the portal sends it: no OAuth tokens, only the application token and the portal.
    event = {
        "event": "ONAPPUNINSTALL",
        "data[CLEAN]": "0",
        "auth[domain]": emulator.domain,
        "auth[member_id]": emulator.portal.member_id,
        "auth[application_token]": "forged",
    }
    assert web.post("/hooks/bitrix24", content=urlencode(event), headers=FORM).status_code == 403
    assert PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id) is not None
    event["auth[application_token]"] = installed.application_token
    assert web.post("/hooks/bitrix24", content=urlencode(event), headers=FORM).status_code == 200
    assert PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id) is None
    assert settings_overview(cabinet)["installed"] is False


def test_the_page_shows_the_crms_health_retries_a_failure_and_maps_staff(
    cabinet, emulator, app, web, installed
):
    from cabinet_core.entities import OutboxMessage
    from cabinet_core.storage import outbox as outbox_table

    admin = staff(cabinet, ADMIN_EMAIL)
    other = staff(cabinet, "ola@firm.example", Role.MANAGER)
    web.post("/bitrix24/placement", data=emulator.placement_form(user_id=1))
    assert settings_overview(cabinet)["health"] == "idle"
    with cabinet.store.transaction() as tx:
        owner = tx.add_client(Client(name="Klient"))
        ok = tx.add_outbox(
            OutboxMessage(topic="client.created", entity="client", entity_id=owner.id),
            subscribers=("bitrix24",),
        )
        broken = tx.add_outbox(
            OutboxMessage(topic="client.updated", entity="client", entity_id=owner.id),
            subscribers=("bitrix24",),
        )
        outbox_table.update_one(
            tx.connection, "bitrix24", ok.id, delivered_at=cabinet.store.clock()
        )
        outbox_table.update_one(
            tx.connection,
            "bitrix24",
            broken.id,
            failed_at=cabinet.store.clock(),
            attempts=8,
            last_error="bitrix24: ACCESS_DENIED",
        )
    overview = settings_overview(cabinet)
    assert overview["health"] == "down" and overview["failed"] == 1
    assert overview["last_success"] is not None
    page = web.get("/settings/bitrix24")
    assert 'id="bx-failed">1<' in page.text and "ACCESS_DENIED" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    retried = web.post(
        "/settings/bitrix24/retry",
        data={"message_id": str(broken.id), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert retried.status_code == 303
    overview = settings_overview(cabinet)
    assert overview["failed"] == 0 and overview["pending"] == 1
    with cabinet.store.transaction(readonly=True) as tx:
        (entry,) = [e for e in tx.list_audit(limit=50) if e.action == "sync.retry"]
    assert entry.actor_id == admin.id and entry.entity_id == broken.id

    # Staff mapped explicitly to a portal user; bad ids are refused at the field.
    bad = web.post(
        "/settings/bitrix24/people",
        data={"user_id": str(other.id), "portal_user_id": "zero", "csrf_token": csrf},
    )
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text
    saved = web.post(
        "/settings/bitrix24/people",
        data={"user_id": str(other.id), "portal_user_id": "2", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert cabinet.sync_port("bitrix24").state("people") == {str(other.id): 2}
    rows = {p["email"]: p["portal_id"] for p in settings_overview(cabinet)["people"]}
    assert rows == {ADMIN_EMAIL: None, "ola@firm.example": 2}
    web.post(
        "/settings/bitrix24/people",
        data={"user_id": str(other.id), "portal_user_id": "", "csrf_token": csrf},
    )
    assert cabinet.sync_port("bitrix24").state("people") == {}


@pytest.mark.parametrize("path", ["/hooks/bitrix24", "/bitrix24/install"])
def test_an_endless_body_is_cut_off_before_anything_is_checked(app, cabinet, path):
    """Both routes answer a portal without a session: 300 MB offered without a length must be
    refused at the limit, not held whole (it once took a server from 134 to 705 MB)."""
    chunk = b"x" * (64 * 1024)
    taken = 0

    async def endless():
        nonlocal taken
        while taken < 300 * 1024 * 1024:
            taken += len(chunk)
            yield chunk

    async def post():
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL) as portal:
            return await portal.post(path, content=endless(), headers=FORM)

    response = asyncio.run(post())
    assert response.status_code == 413
    assert response.json()["status"] == 413
    limit = MAX_EVENT_BYTES if path.startswith("/hooks/") else cabinet.settings.max_body_bytes
    assert taken <= limit + len(chunk)


def test_the_portal_opens_the_app_in_its_tab_and_later_uninstalls_it(
    cabinet, emulator, app, web, installed
):
    # The portal's own moves, as the emulator makes them: a member of staff opens the app
    # (the form POSTed to the handler placement.bind registered, DOMAIN & co. in the query
    # string), then an admin removes the app (ONAPPUNINSTALL with only the application token).
    staff(cabinet, ADMIN_EMAIL)

    def deliver(request: httpx.Request) -> httpx.Response:
        query = request.url.query.decode()
        response = web.post(
            request.url.path + (f"?{query}" if query else ""),
            content=request.content,
            headers={"content-type": request.headers["content-type"]},
        )
        return httpx.Response(response.status_code, content=response.content)

    emulator.event_transport = httpx.MockTransport(deliver)
    opened = emulator.open_placement("DEFAULT", user_id=1)
    assert opened.status == 200 and opened.url.startswith(f"{BASE_URL}/bitrix24/placement?DOMAIN=")
    assert web.get("/settings/bitrix24").status_code == 200  # signed in from the placement
    emulator.uninstall_app()
    (uninstalled,) = [d for d in emulator.portal.deliveries if d.event == "ONAPPUNINSTALL"]
    assert uninstalled.status == 200
    assert PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id) is None


def test_the_install_callback_as_the_portal_posts_it_installs_the_app(cabinet, emulator, web):
    tokens = emulator.install_app(callback=f"{BASE_URL}/bitrix24/install")
    (callback,) = [d for d in emulator.portal.deliveries if d.event == "INSTALL_CALLBACK"]
    assert callback.status == 200
    stored = PortTokenStore(cabinet.sync_port("bitrix24")).load(emulator.portal.member_id)
    assert stored is not None and stored.application_token == tokens["application_token"]


def test_the_page_shows_how_documents_compare_with_bitrix24_and_a_reinstall_state(
    cabinet, emulator, app, web, installed
):
    from datetime import date
    from decimal import Decimal

    from cabinet_bitrix.reconcile import reconcile
    from cabinet_core.entities import Document, DocumentLine, Party

    staff(cabinet, ADMIN_EMAIL)
    web.post("/bitrix24/placement", data=emulator.placement_form(user_id=1))
    page = web.get("/settings/bitrix24")
    assert 'id="bx-in-sync">0<' in page.text and "bx-sync-documents" not in page.text
    with cabinet.store.transaction() as tx:
        owner = tx.add_client(Client(name="Klient", nip="5260250274"))
        pushed, lost = (
            tx.add_document(
                Document(
                    client_id=owner.id,
                    doc_type="vat_invoice",
                    status="issued",
                    number=number,
                    issue_date=date(2026, 12, 1),
                    buyer=Party(name="Jaźń S.A.", nip="1234563218"),
                    lines=(DocumentLine(name="Usługa", unit_price=Decimal("100")),),
                )
            )
            for number in ("FV/1/12/2026", "FV/2/12/2026")
        )
    port = cabinet.sync_port("bitrix24")
    backend = cabinet.crm_backend("bitrix24")
    backend.push_documents(port, [pushed])
    report = reconcile(port, backend)
    assert report.requeued == (lost.id,)
    overview = settings_overview(cabinet)["convergence"]
    assert overview["counts"] == {"in_sync": 1, "waiting": 0, "repaired": 1, "failed": 0}
    (row,) = overview["documents"]
    # Re-queued and not delivered yet: waiting, and why it was sent again.
    assert (row["id"], row["state"], row["why"]) == (lost.id, "waiting", ["unconfirmed"])
    page = web.get("/settings/bitrix24")
    assert 'id="bx-in-sync">1<' in page.text and 'id="bx-repaired">1<' in page.text
    assert "FV/2/12/2026" in page.text and "niepotwierdzony przez Bitrix24" in page.text
    # The app's tokens refused for good: the health says what to do.
    PortTokenStore(port).needs_reinstall(emulator.portal.member_id, "invalid_grant")
    assert settings_overview(cabinet)["health"] == "reinstall"
    page = web.get("/settings/bitrix24")
    assert 'id="bx-reinstall">invalid_grant' in page.text
    assert "zainstaluj aplikację ponownie" in page.text


def test_admins_edit_the_stage_mapping_and_test_the_connection(
    cabinet, emulator, app, web, installed
):
    from cabinet_bitrix import stages

    staff(cabinet, ADMIN_EMAIL)
    web.post("/bitrix24/placement", data=emulator.placement_form(user_id=1))
    page = web.get("/settings/bitrix24")
    assert 'data-test="bx-stages-cost_invoice"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = web.post(
        "/settings/bitrix24/stages",
        data={"doc_type": "cost_invoice", "stage.approved": "UC CHECKED!", "csrf_token": csrf},
    )
    assert bad.status_code == 400 and 'data-error-for="stage.approved"' in bad.text
    assert cabinet.sync_port("bitrix24").state(stages.STATE_KEY) is None
    saved = web.post(
        "/settings/bitrix24/stages",
        data={
            "doc_type": "cost_invoice",
            "stage.submitted": "NEW",
            "stage.approved": "UC_CHECKED",
            "stage.paid": "",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    port = cabinet.sync_port("bitrix24")
    assert port.state(stages.STATE_KEY) == {
        "cost_invoice": {"submitted": "NEW", "approved": "UC_CHECKED"}
    }
    # The sync reads it: the StageMap of the next delivery maps as saved.
    document_type = cabinet.document_type("cost_invoice")
    assert stages.StageMap.load(port).mapping(document_type, 1038) == {
        "submitted": "NEW",
        "approved": "UC_CHECKED",
    }
    with cabinet.store.transaction(readonly=True) as tx:
        entries = [e for e in tx.list_audit(limit=50) if e.action == "settings.set"]
    assert entries[0].detail["key"] == "bitrix24.stage_map"
    web.post(
        "/settings/bitrix24/stages",
        data={"doc_type": "cost_invoice", "reset": "1", "csrf_token": csrf},
    )
    assert port.state(stages.STATE_KEY) == {}

    checked = web.post("/settings/bitrix24/check", data={"csrf_token": csrf})
    assert checked.status_code == 200
    result = port.state("connection_check")
    assert result["ok"] is True, result
    assert 'id="bx-connection-check"' in checked.text


def test_admins_map_cabinet_fields_to_crm_fields(cabinet, emulator, app, web, installed):
    from cabinet_bitrix import fieldmap

    staff(cabinet, ADMIN_EMAIL)
    web.post("/bitrix24/placement", data=emulator.placement_form(user_id=1))
    page = web.get("/settings/bitrix24")
    assert 'data-test="bx-fields-vat_invoice"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = web.post(
        "/settings/bitrix24/fields",
        data={"doc_type": "vat_invoice", "fields": "UF_CRM_5_NIP buyer.nip", "csrf_token": csrf},
    )
    assert bad.status_code == 400 and 'data-error-for="fields"' in bad.text
    saved = web.post(
        "/settings/bitrix24/fields",
        data={
            "doc_type": "vat_invoice",
            "fields": "UF_CRM_5_NIP = buyer.nip\n\nufCrm5Contract = extra.contract_number",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert cabinet.sync_port("bitrix24").state(fieldmap.STATE_KEY) == {
        "vat_invoice": {"UF_CRM_5_NIP": "buyer.nip", "ufCrm5Contract": "extra.contract_number"}
    }
    assert "UF_CRM_5_NIP = buyer.nip" in web.get("/settings/bitrix24").text
    web.post(
        "/settings/bitrix24/fields",
        data={"doc_type": "vat_invoice", "fields": "", "csrf_token": csrf},
    )
    assert cabinet.sync_port("bitrix24").state(fieldmap.STATE_KEY) == {}
