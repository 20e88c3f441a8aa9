"""The OpenAPI document lists every /api/v1 route with sound schemas."""

from __future__ import annotations

import re
from typing import Any

from cabinet_web.api.openapi import openapi_path
from starlette.routing import Route
from starlette.testclient import TestClient


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def test_every_api_route_is_described(app: Any, web: TestClient) -> None:
    document = web.get("/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    described = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    served = {
        (openapi_path(route.path), method)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/api/v1")
        for method in (route.methods or ()) - {"HEAD"}
    }
    assert served
    assert served == described


def test_every_reference_resolves_and_path_parameters_are_declared(web: TestClient) -> None:
    document = web.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas
    for path, item in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path
            assert operation["operationId"]
            assert "default" in operation["responses"]


def test_schemas_follow_the_wire_format(web: TestClient) -> None:
    schemas = web.get("/api/v1/openapi.json").json()["components"]["schemas"]
    line = schemas["DocumentLine"]["properties"]
    assert line["unit_price"]["type"] == "string"  # Decimal travels as a string
    assert set(schemas["DocumentLine"]["required"]) == {"name", "unit_price"}
    assert schemas["Document"]["properties"]["issue_date"] == {"type": "string", "format": "date"}
    assert "password_hash" not in schemas["User"]["properties"]
    assert schemas["User"]["properties"]["role"]["enum"] == [
        "client",
        "manager",
        "accountant",
        "admin",
    ]
    assert schemas["Problem"]["required"] == ["type", "title", "status"]


def test_the_document_is_public(web: TestClient) -> None:
    response = web.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
