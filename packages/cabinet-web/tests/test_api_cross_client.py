"""The JSON API refuses references to another client's records (a line's product, the
counterparty, the related document) with the same 422 problem as an id that does not exist:
never a 201 that links them, never a 500 that tells the id exists. The rule is the services';
these tests prove every API entry point reaches it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Counterparty, Product
from starlette.testclient import TestClient
from test_api import INVOICE, assert_problem, bearer
from web_support import World

MISSING = 987_654


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """On SQLite and on PostgreSQL (where a dangling foreign key was the 500)."""
    return database_urls


@pytest.fixture
def other_records(cabinet: Cabinet, world: World) -> dict[str, int]:
    """A product, a counterparty and a document of the other client."""
    other = Actor.of(world.other_user)
    client_id = world.other_client.id
    assert client_id is not None
    product = cabinet.products.create(
        other, Product(client_id=client_id, name="Towar B", unit="szt.", unit_price=Decimal(5))
    )
    counterparty = cabinet.counterparties.create(
        other, Counterparty(client_id=client_id, name="Kontrahent B", nip="5260250274")
    )
    assert product.id is not None and counterparty.id is not None
    return {"product_id": product.id, "counterparty_id": counterparty.id}


def _with_product(product_id: int) -> dict[str, Any]:
    line = {"name": "Towar", "quantity": "1", "unit_price": "5", "vat_rate": "23"}
    return {**INVOICE, "lines": [{**line, "product_id": product_id}]}


def _errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((error["field"], error["code"]) for error in body["errors"])


@pytest.mark.parametrize("who", ["client_user", "admin", "manager"])
def test_a_line_with_another_clients_product_is_a_422_like_a_missing_id(
    web: TestClient, cabinet: Cabinet, world: World, other_records: dict[str, int], who: str
) -> None:
    headers = bearer(cabinet, getattr(world, who))
    # Staff name the client they act for; a client's user always acts for its own.
    target = {"client_id": world.client.id} if who != "client_user" else {}
    product_b = other_records["product_id"]
    path = "/api/v1/documents"
    foreign = assert_problem(
        web.post(path, headers=headers, json={**_with_product(product_b), **target}), 422
    )
    missing = assert_problem(
        web.post(path, headers=headers, json={**_with_product(MISSING), **target}), 422
    )
    assert _errors(foreign) == _errors(missing) == [("lines.0.product_id", "unknown")]
    assert foreign["errors"] == missing["errors"]
    assert "Towar B" not in str(foreign)
    # The live totals look nothing up: the same answer for any product id, and nothing saved.
    preview = web.post(
        f"{path}/preview-totals", headers=headers, json={**_with_product(product_b), **target}
    )
    assert preview.status_code == 200, preview.text
    assert "Towar B" not in preview.text
    admin = bearer(cabinet, world.admin)
    assert web.get("/api/v1/documents", headers=admin).json()["total"] == 0


def test_an_update_cannot_link_another_clients_product_or_counterparty(
    web: TestClient, cabinet: Cabinet, world: World, other_records: dict[str, int]
) -> None:
    headers = bearer(cabinet, world.client_user)
    created = web.post("/api/v1/documents", headers=headers, json=INVOICE)
    assert created.status_code == 201, created.text
    path = f"/api/v1/documents/{created.json()['id']}"
    document = web.get(path, headers=headers).json()
    for change, field in (
        ({"lines": _with_product(other_records["product_id"])["lines"]}, "lines.0.product_id"),
        ({"counterparty_id": other_records["counterparty_id"]}, "counterparty_id"),
        ({"related_id": MISSING}, "related_id"),
    ):
        body = assert_problem(web.put(path, headers=headers, json={**document, **change}), 422)
        assert [error["field"] for error in body["errors"]] == [field]
    assert web.get(path, headers=headers).json() == document
