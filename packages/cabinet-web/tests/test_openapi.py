"""The OpenAPI document lists every /api/v1 route with sound schemas."""

from __future__ import annotations

import re
from pathlib import Path
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
    issue_date = schemas["Document"]["properties"]["issue_date"]
    assert (issue_date["type"], issue_date["format"]) == ("string", "date")
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


def _conforms(value: Any, schema: dict[str, Any], components: dict[str, Any], at: str) -> None:
    """A small structural check of ``value`` against the subset of JSON Schema we generate."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    for part in schema.get("allOf", []):
        # if / then: the part applies when the value matches its condition (a doc_type).
        try:
            _conforms(value, part.get("if", {}), components, at)
        except AssertionError:
            continue
        _conforms(value, part.get("then", part), components, at)
    if "const" in schema:
        assert value == schema["const"], f"{at}: {value!r} is not {schema['const']!r}"
    if "anyOf" in schema:
        failures = []
        for option in schema["anyOf"]:
            try:
                _conforms(value, option, components, at)
                return
            except AssertionError as exc:
                failures.append(str(exc))
        raise AssertionError(f"{at}: matches no option: {failures}")
    kind = schema.get("type")
    checks = {
        "null": lambda v: v is None,
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if kind is not None:
        assert checks[kind](value), f"{at}: {value!r} is not {kind}"
    if "enum" in schema:
        assert value in schema["enum"], f"{at}: {value!r} not in {schema['enum']}"
    if "pattern" in schema:
        assert re.fullmatch(schema["pattern"], value), f"{at}: {value!r} !~ {schema['pattern']}"
    if kind == "array":
        for index, item in enumerate(value):
            _conforms(item, schema.get("items", {}), components, f"{at}[{index}]")
    if kind == "object":
        for name in schema.get("required", []):
            assert name in value, f"{at}: {name} is missing"
        for name, item in value.items():
            if name in schema.get("properties", {}):
                _conforms(item, schema["properties"][name], components, f"{at}.{name}")


def test_responses_match_the_described_schemas(
    cabinet: Any, web: TestClient, tmp_path: Path
) -> None:
    from cabinet_core.entities import Actor
    from cabinet_web.demo import seed

    seed(cabinet, tmp_path)  # documents in several states, parties, products and news
    system = Actor.system()
    client_user = next(u for u in cabinet.users.list(system) if u.email == "client@demo.pl")
    _, secret = cabinet.tokens.create(Actor.of(client_user), name="schema")
    headers = {"Authorization": f"Bearer {secret}"}
    document = web.get("/api/v1/openapi.json").json()
    components = document["components"]["schemas"]
    first_document = web.get("/api/v1/documents", headers=headers).json()["items"][0]["id"]
    for path, concrete in (
        ("/api/v1/me", "/api/v1/me"),
        ("/api/v1/clients", "/api/v1/clients"),
        ("/api/v1/clients/{client_id}", f"/api/v1/clients/{client_user.client_id}"),
        ("/api/v1/counterparties", "/api/v1/counterparties"),
        ("/api/v1/products", "/api/v1/products"),
        ("/api/v1/documents", "/api/v1/documents"),
        ("/api/v1/documents/{doc_id}", f"/api/v1/documents/{first_document}"),
        ("/api/v1/news", "/api/v1/news"),
        (
            "/api/v1/documents/{doc_id}/transitions",
            f"/api/v1/documents/{first_document}/transitions",
        ),
    ):
        response = web.get(concrete, headers=headers)
        assert response.status_code == 200, response.text
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]
        _conforms(response.json(), schema, components, path)
    problem = web.get("/api/v1/documents/999999", headers=headers)
    _conforms(problem.json(), components["Problem"], components, "problem")


def test_each_document_types_extra_fields_are_declared(web: TestClient) -> None:
    schemas = web.get("/api/v1/openapi.json").json()["components"]["schemas"]
    document = schemas["Document"]
    assert {"vat_invoice", "contract", "bill", "cash_report"} <= set(
        document["properties"]["doc_type"]["enum"]
    )
    chosen = {
        part["if"]["properties"]["doc_type"]["const"]: part["then"]["properties"]["extra"]["$ref"]
        for part in document["allOf"]
    }
    assert chosen["bill"] == "#/components/schemas/BillExtra"
    bill = schemas["BillExtra"]["properties"]
    assert bill["sickness_insurance"] == {
        "type": "boolean",
        "description": "Voluntary sickness insurance",
    }
    for name in ("gross_amount", "exempt_income_elsewhere", "pension_base_elsewhere"):
        money, empty = bill[name]["anyOf"]
        assert money["type"] == "string" and empty == {"type": "null"}
        assert re.fullmatch(money["pattern"], "85528.00")
        assert not re.fullmatch(money["pattern"], "-1.00")
    assert set(bill["contract_kind"]["anyOf"][0]["enum"]) == {"dzielo", "zlecenie"}
    assert "breakdown" in bill
    contract = schemas["ContractExtra"]["properties"]
    assert contract["subject"]["description"].endswith("(required)")
    assert "template_version_id" in contract
    assert schemas["CashReportExtra"]["properties"]["period_from"]["anyOf"][0]["format"] == "date"
