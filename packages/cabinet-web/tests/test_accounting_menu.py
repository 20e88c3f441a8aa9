"""Issue #10.6: contracts, bills, cash desks, reports and the VAT statement are reachable from
the menu for every role that may use them, and each page's "New" button is there for the roles
that may make one (and absent, with the page refusing, for those who may not)."""

from __future__ import annotations

import re

import pytest
from cabinet_core import access
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from starlette.testclient import TestClient
from web_support import World, login

#: The accounting outputs of issue #10, as the menu links them.
OUTPUTS = ("/contracts", "/documents?doc_type=bill", "/cash", "/reports", "/vat-statement")
ROLES = ["client_user", "manager", "accountant", "admin"]


def menu_of(page: str) -> dict[str, str]:
    """The main menu's links, href → label."""
    nav = re.search(r'<nav class="menu"[^>]*>(.*?)</nav>', page, re.S)
    assert nav is not None, "no main menu"
    return {
        href.replace("&amp;", "&"): label.strip()
        for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav.group(1))
    }


@pytest.mark.parametrize("who", ROLES)
def test_every_role_reaches_the_accounting_outputs_from_the_menu(
    cabinet: Cabinet, web: TestClient, world: World, who: str
) -> None:
    user = getattr(world, who)
    assert login(web, user.email).url.path == "/"
    menu = menu_of(web.get("/").text)
    for href in OUTPUTS:
        assert href in menu, (who, href, menu)
        response = web.get(href)
        assert response.status_code == 200, (who, href, response.status_code)
    # "New contract" in the menu exactly for the roles the contract workflow names.
    may_make = cabinet.contracts.may_make(Actor.of(user))
    assert ("/contracts/new" in menu) == may_make, who
    contracts = web.get("/contracts").text
    assert ('href="/contracts/new"' in contracts) == may_make, who
    if may_make:
        assert web.get("/contracts/new").status_code == 200
    else:
        assert web.get("/contracts/new").status_code == 403


@pytest.mark.parametrize("who", ROLES)
def test_the_new_buttons_are_there_for_the_roles_that_may_make(
    cabinet: Cabinet, web: TestClient, world: World, who: str
) -> None:
    user = getattr(world, who)
    actor = Actor.of(user)
    # Who may write a client's documents and cash (the access rule the services apply).
    may_write = any(
        access.can_edit_client_data(actor, client) for client in cabinet.clients.list(actor)
    )
    assert login(web, user.email).url.path == "/"
    # Bills: "New: Bill" on the documents list and its form (staff choose the client first).
    listed = web.get("/documents?doc_type=bill").text
    assert ('data-test="new-bill"' in listed) == may_write, who
    assert web.get("/documents/new?type=bill").status_code == (200 if may_write else 403), who
    # Cash: "New: Cash report" leads to the desks, where the form adds a desk.
    assert ('data-test="new-cash-report"' in listed) == may_write, who
    assert ('data-test="cash-desk-form"' in web.get("/cash").text) == may_write, who
    # Contracts: the generic "New" never makes one without a template, it leads to the form.
    assert 'data-test="new-contract"' not in web.get("/documents").text
    redirected = web.get("/documents/new?type=contract", follow_redirects=False)
    assert redirected.headers["location"].endswith("/contracts/new")


def test_the_roles_in_the_fixture_cover_both_cases(cabinet: Cabinet, world: World) -> None:
    # The walk above checks the buttons shown and the buttons hidden.
    writers = {
        who
        for who in ROLES
        if any(
            access.can_edit_client_data(Actor.of(getattr(world, who)), client)
            for client in cabinet.clients.list(Actor.of(getattr(world, who)))
        )
    }
    assert "client_user" in writers
    assert writers != set(ROLES)


def test_a_client_of_another_firm_sees_no_staff_links(web: TestClient, world: World) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    menu = menu_of(web.get("/").text)
    assert "/clients" not in menu and "/settings" not in menu
    assert set(OUTPUTS) <= set(menu)
