"""The "Products and services" pages: a client's user lists, adds, edits and deletes its own
catalogue; staff choose the client; GTU and procedure markers come from the core's lists and a
bad value is shown at its field with nothing saved; another client's product is not found."""

from __future__ import annotations

import re
from decimal import Decimal

import attrs
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Product
from starlette.testclient import TestClient
from web_support import World, csrf_of, login


def _product(cabinet: Cabinet, client_id: int | None, name: str = "Porada prawna") -> Product:
    return cabinet.products.create(
        Actor.system(),
        Product(
            client_id=client_id or 0,
            name=name,
            unit="h",
            unit_price=Decimal("400.00"),
            gtu="GTU_12",
            procedures=("TP",),
        ),
    )


def _form(web: TestClient, path: str = "/products/new", **values: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(web, path),
        "name": "Audyt podatkowy",
        "unit": "usł.",
        "unit_price": "1 250,50",
        "currency": "PLN",
        "vat_rate": "23",
        "gtu": "GTU_12",
        "procedure.TP": "true",
        "procedure.MR_UZ": "true",
        **values,
    }


def test_the_menu_leads_a_client_user_to_its_products(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    _product(cabinet, world.client.id)
    _product(cabinet, world.other_client.id, "Cudzy produkt")
    home = client_web.get("/").text
    assert 'href="/products"' in home
    page = client_web.get("/products").text
    assert "Produkty i usługi" in page
    assert "Porada prawna" in page and "Cudzy produkt" not in page
    assert "GTU_12" in page and ">TP<" in page
    assert "400,00" in page


def test_a_client_user_adds_a_product_with_markers_from_the_lists(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    form_page = client_web.get("/products/new").text
    assert '<option value="GTU_12">GTU_12</option>' in form_page
    assert 'name="procedure.MR_UZ"' in form_page
    assert 'name="client_id"' not in form_page  # a client's user always adds to its own
    response = client_web.post("/products/new", data=_form(client_web), follow_redirects=False)
    assert response.status_code == 303, response.text
    [made] = cabinet.products.list(Actor.of(world.client_user), world.client.id).items
    assert (made.name, made.unit_price, made.gtu, made.procedures) == (
        "Audyt podatkowy",
        Decimal("1250.50"),
        "GTU_12",
        ("TP", "MR_UZ"),
    )
    assert made.client_id == world.client.id


def test_bad_values_are_shown_at_their_fields_and_nothing_is_saved(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    form = _form(
        client_web,
        name="",
        unit_price="dużo",
        gtu="GTU_99",
        vat_rate="77",
        **{"procedure.XX": "true"},
    )
    response = client_web.post("/products/new", data=form)
    assert response.status_code == 422
    for field in ("name", "unit_price", "gtu", "vat_rate", "procedures"):
        assert f'data-error-for="{field}"' in response.text, field
    assert cabinet.products.list(Actor.system(), world.client.id).total == 0


def test_a_product_is_edited_and_deleted_and_its_documents_keep_their_lines(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    product = _product(cabinet, world.client.id)
    path = f"/products/{product.id}"
    page = client_web.get(path).text
    assert 'value="400,00"' in page and 'name="procedure.TP" value="true" checked' in page
    form = _form(client_web, path, name="Porada prawna (godzina)", gtu="", unit_price="450")
    del form["procedure.TP"], form["procedure.MR_UZ"]
    response = client_web.post(path, data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    saved = cabinet.products.get(Actor.system(), product.id or 0)
    assert (saved.name, saved.unit_price, saved.gtu, saved.procedures) == (
        "Porada prawna (godzina)",
        Decimal("450"),
        None,
        (),
    )
    response = client_web.post(
        f"{path}/delete", data={"csrf_token": csrf_of(client_web, path)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert cabinet.products.list(Actor.system(), world.client.id).total == 0
    assert client_web.get(path).status_code == 404


def test_another_clients_product_is_not_found(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    theirs = _product(cabinet, world.other_client.id, "Cudzy produkt")
    path = f"/products/{theirs.id}"
    assert client_web.get(path).status_code == 404
    csrf = csrf_of(client_web, "/products")
    assert client_web.post(path, data=_form(client_web, name="Mój")).status_code == 404
    assert client_web.post(f"{path}/delete", data={"csrf_token": csrf}).status_code == 404
    assert cabinet.products.get(Actor.system(), theirs.id or 0).name == "Cudzy produkt"
    # Naming the other client in the link changes nothing: a client's user sees its own.
    page = client_web.get(f"/products?client_id={world.other_client.id}").text
    assert "Cudzy produkt" not in page
    response = client_web.post(
        "/products/new",
        data=_form(client_web, client_id=str(world.other_client.id)),
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert cabinet.products.list(Actor.system(), world.other_client.id).total == 1


def test_a_manager_chooses_among_its_clients(
    cabinet: Cabinet, manager_web: TestClient, world: World
) -> None:
    _product(cabinet, world.client.id)
    theirs = _product(cabinet, world.other_client.id, "Cudzy produkt")
    page = manager_web.get("/products").text
    assert 'data-test="choose-client"' in page
    assert world.client.name in page and world.other_client.name not in page
    page = manager_web.get(f"/products?client_id={world.client.id}").text
    assert "Porada prawna" in page
    assert manager_web.get(f"/products?client_id={world.other_client.id}").status_code == 404
    assert manager_web.get(f"/products/{theirs.id}").status_code == 404
    form = _form(manager_web, client_id="")
    response = manager_web.post("/products/new", data=form)
    assert response.status_code == 422 and 'data-error-for="client_id"' in response.text
    form = _form(manager_web, client_id=str(world.other_client.id))
    assert manager_web.post("/products/new", data=form).status_code == 404
    form = _form(manager_web, client_id=str(world.client.id))
    response = manager_web.post("/products/new", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/products?client_id={world.client.id}"


def test_english_labels(cabinet: Cabinet, web: TestClient, world: World) -> None:
    login(web, world.other_user.email)
    page = web.get("/products").text
    assert "Products and services" in page and "No products or services yet." in page


def test_the_list_shows_each_rate_by_the_label_the_tax_rules_give(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    exempt = attrs.evolve(_product(cabinet, world.client.id), id=None, vat_rate="zw")
    cabinet.products.create(Actor.system(), attrs.evolve(exempt, name="Szkolenie"))
    page = client_web.get("/products").text
    cells = re.findall(r'data-test="product-vat">([^<]*)<', page)
    assert sorted(cells) == ["23%", "zwolnione"]


def test_an_accountant_reads_the_list_without_the_new_button(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    _product(cabinet, world.client.id)
    login(web, world.accountant.email)
    page = web.get(f"/products?client_id={world.client.id}").text
    assert "Porada prawna" in page
    assert 'data-test="new-product"' not in page
    assert 'data-test="new-product"' not in web.get("/products").text
    # The button only hides what the service refuses anyway.
    form = _form(web, "/products", client_id=str(world.client.id))
    assert web.post("/products/new", data=form).status_code == 403
    assert cabinet.products.list(Actor.system(), world.client.id).total == 1


def test_a_client_user_sees_the_new_button(client_web: TestClient) -> None:
    assert 'data-test="new-product"' in client_web.get("/products").text


def test_a_manager_sees_the_new_button_before_and_after_choosing_a_client(
    manager_web: TestClient, world: World
) -> None:
    assert 'data-test="new-product"' in manager_web.get("/products").text
    page = manager_web.get(f"/products?client_id={world.client.id}").text
    assert 'data-test="new-product"' in page
