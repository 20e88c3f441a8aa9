"""The home page's dashboard per role, the documents list's client column and filters, the
notifications page and the JSON API for both."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party
from starlette.testclient import TestClient
from web_support import CSRF, World, login

LINE = DocumentLine(name="Doradztwo", quantity=Decimal(1), unit_price=Decimal("100.00"))


def csrf(web: TestClient, path: str) -> str:
    match = CSRF.search(web.get(path).text)
    assert match
    return match.group(1)


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def submit_cost_invoice(cabinet: Cabinet, user: Any, client_id: int) -> int:
    actor = Actor.of(user)
    stored = cabinet.documents.create(
        actor,
        Document(
            client_id=client_id,
            doc_type="cost_invoice",
            issue_date=date(2026, 11, 20),
            seller=Party(name="Dostawca S.A.", nip="5260001246"),
            lines=(LINE,),
            extra={"seller_invoice_number": "S/1/2026"},
        ),
    )
    assert stored.id is not None
    cabinet.documents.transition(actor, stored.id, "submit")
    return stored.id


def test_accountant_home_counts_waiting_cost_invoices_and_links_to_them(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    assert world.client.id is not None and world.other_client.id is not None
    submit_cost_invoice(cabinet, world.client_user, world.client.id)
    submit_cost_invoice(cabinet, world.other_user, world.other_client.id)
    login(web, world.accountant.email)
    home = web.get("/").text
    assert 'data-test="attention-review-cost_invoice"' in home
    link = "/documents?doc_type=cost_invoice&amp;status=submitted"
    assert (
        f'<a href="{link}" data-test="attention-review-cost_invoice"><strong class="count">2<'
        in home
    )
    assert home.count('data-test="dashboard-client"') == 2
    listed = web.get(link.replace("&amp;", "&")).text
    assert listed.count('data-test="document-row"') == 2
    # Staff see which client each document is for, and can narrow the list to one.
    assert "Alfa sp. z o.o.</a></td>" in listed and "Beta s.c.</a></td>" in listed
    one = web.get(f"/documents?client_id={world.client.id}&doc_type=cost_invoice").text
    assert one.count('data-test="document-row"') == 1


def test_manager_sees_only_their_client_and_the_client_its_money(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    assert world.client.id is not None and world.other_client.id is not None
    submit_cost_invoice(cabinet, world.other_user, world.other_client.id)
    login(web, world.manager.email)
    home = web.get("/").text
    assert home.count('data-test="dashboard-client"') == 1 and "Alfa sp. z o.o." in home
    assert "Beta s.c." not in home
    web.post("/logout", data={"csrf_token": csrf(web, "/")})
    login(web, world.client_user.email)
    mine = web.get("/").text
    assert 'data-test="money-picture"' in mine and 'data-test="sales-month"' in mine
    assert 'data-test="dashboard-client"' not in mine
    # A client's list has no client column: every row is its own.
    assert 'data-test="document-client"' not in web.get("/documents").text


def test_overdue_filter_and_bad_values_are_field_errors(
    client_web: TestClient, world: World
) -> None:
    ok = client_web.get("/documents?unpaid=1&due_before=2026-12-07")
    assert ok.status_code == 200
    bad = client_web.get("/documents?unpaid=maybe&due_before=yesterday")
    assert bad.status_code == 422
    assert "Enter a date as YYYY-MM-DD." in bad.text or "RRRR-MM-DD" in bad.text


def test_notifications_page_marks_one_and_all_read_and_the_bell_follows(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    assert world.client.id is not None
    accountant = Actor.of(world.accountant)
    for _ in range(2):
        doc_id = submit_cost_invoice(cabinet, world.client_user, world.client.id)
        cabinet.documents.transition(accountant, doc_id, "return", comment="Brak podpisu")
    login(web, world.client_user.email)
    page = web.get("/notifications").text
    assert page.count('data-test="notification"') == 2
    assert '<span class="badge" data-test="bell-count"' in page and ">2</span>" in page
    first = cabinet.notifications.list(Actor.of(world.client_user))[0]
    token = csrf(web, "/notifications")
    done = web.post(f"/notifications/{first.id}/read", data={"csrf_token": token})
    assert done.status_code == 200 and done.url.path == "/notifications"
    assert cabinet.notifications.unread_count(Actor.of(world.client_user)) == 1
    web.post("/notifications/read-all", data={"csrf_token": token})
    after = web.get("/notifications").text
    assert 'data-test="bell-count"' not in after and 'data-test="mark-read"' not in after
    # Someone else's notification is not found.
    login(web, world.other_user.email)
    token = csrf(web, "/notifications")
    other = web.post(f"/notifications/{first.id}/read", data={"csrf_token": token})
    assert other.status_code == 404


def test_api_notifications_and_dashboard(cabinet: Cabinet, web: TestClient, world: World) -> None:
    assert world.client.id is not None
    doc_id = submit_cost_invoice(cabinet, world.client_user, world.client.id)
    cabinet.documents.transition(Actor.of(world.accountant), doc_id, "approve")
    headers = bearer(cabinet, world.client_user)
    assert web.get("/api/v1/notifications/unread-count", headers=headers).json() == {"unread": 1}
    items = web.get("/api/v1/notifications?unread=1", headers=headers).json()
    assert len(items) == 1 and items[0]["read_at"] is None
    read = web.post(f"/api/v1/notifications/{items[0]['id']}/read", headers=headers)
    assert read.status_code == 204
    assert web.get("/api/v1/notifications?unread=1", headers=headers).json() == []
    assert web.post("/api/v1/notifications/read-all", headers=headers).json() == {"marked": 0}
    other = bearer(cabinet, world.other_user)
    assert web.post(f"/api/v1/notifications/{items[0]['id']}/read", headers=other).status_code == (
        404
    )
    board = web.get("/api/v1/dashboard", headers=bearer(cabinet, world.accountant)).json()
    review = [a for a in board["attention"] if a["key"] == "review"]
    assert {a["doc_type"]: a["count"] for a in review} == {"cost_invoice": 0, "cash_report": 0}
    mine = web.get("/api/v1/dashboard", headers=headers).json()
    assert mine["money"]["payables_due"] == "123.00" and mine["money"]["payables_due_count"] == 1


def test_profile_turns_an_e_mail_kind_off_and_the_api_reads_and_sets_the_same(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.accountant.email)
    page = web.get("/profile").text
    assert 'data-test="notification-preferences"' in page
    assert (
        'name="email.document.submitted" value="1" data-test="email-document.submitted" checked'
        in page
    )
    token = csrf(web, "/profile")
    saved = web.post(
        "/profile/notifications",
        data={
            "csrf_token": token,
            "email.document.status_changed": "1",
            "email.chat.message": "1",
            "email.news.important": "1",
            "email.delivery.failed": "1",
        },
    )
    assert saved.status_code == 200 and saved.url.path == "/profile"
    accountant = Actor.of(world.accountant)
    assert cabinet.notifications.email_preferences(accountant) == {
        "document.submitted": False,
        "document.status_changed": True,
        "chat.message": True,
        "news.important": True,
        "delivery.failed": True,
    }
    page = web.get("/profile").text
    assert 'data-test="email-document.submitted">' in page  # not ticked any more
    headers = bearer(cabinet, world.accountant)
    assert web.get("/api/v1/notifications/preferences", headers=headers).json() == {
        "document.submitted": False,
        "document.status_changed": True,
        "chat.message": True,
        "news.important": True,
        "delivery.failed": True,
    }
    put = web.put(
        "/api/v1/notifications/preferences",
        json={"document.submitted": True},
        headers=headers,
    )
    assert put.status_code == 200 and put.json()["document.submitted"] is True
    bad = web.put("/api/v1/notifications/preferences", json={"x": True}, headers=headers)
    assert bad.status_code == 422
    wrong = web.put(
        "/api/v1/notifications/preferences", json={"document.submitted": "no"}, headers=headers
    )
    assert wrong.status_code == 422
