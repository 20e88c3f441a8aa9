"""The operator and integrator docs name what the code has: every ``CABINET_*`` variable the code
reads is in docs/configuration.md (and every one documented there is read), and docs/api.md lists
exactly the operations of the OpenAPI document the server publishes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cabinet_core import Cabinet, Settings
from cabinet_web.app import create_app
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION_MD = ROOT / "docs" / "configuration.md"
API_MD = ROOT / "docs" / "api.md"
SOURCES = sorted((ROOT / "packages").glob("*/src/**/*.py"))
VARIABLE = re.compile(r"(?<![A-Za-z0-9_])CABINET_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_])")
# Names in the code that are not environment variables: the Bitrix24 ENTITY_TYPE of a client's
# Open Lines chat, and the tail of the quotes' origin user field (UF_CRM_QUOTE_CABINET_ID).
NOT_VARIABLES = frozenset({"CABINET_CLIENT", "CABINET_ID"})
# Read by the test suites, not by an installation (documented under "Tests").
TEST_ONLY = frozenset({"CABINET_TEST_POSTGRES_URL"})
# Values Settings.from_env accepts for the variables it builds from field names
# (CABINET_{field.upper()}), which therefore never appear literally in the code.
GENERATED_VALUES = {
    "CABINET_SMTP_PORT": "2525",
    "CABINET_SMTP_STARTTLS": "true",
    "CABINET_SMTP_SSL": "true",
}
OPERATION = re.compile(
    r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`(/api/v1/[^`]*)`\s*\|", re.MULTILINE
)


def variables_in_code() -> set[str]:
    names: set[str] = set()
    for path in SOURCES:
        names.update(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return names - NOT_VARIABLES


def variables_in_docs() -> set[str]:
    return set(VARIABLE.findall(CONFIGURATION_MD.read_text(encoding="utf-8")))


def test_the_code_is_scanned():
    # Guards the scan itself: a wrong glob would make the next test pass vacuously.
    assert {"CABINET_DATA_DIR", "CABINET_BITRIX_WEBHOOK_URL", "CABINET_PLUGINS"} <= (
        variables_in_code()
    )


def test_every_variable_the_code_reads_is_documented():
    missing = variables_in_code() - variables_in_docs()
    assert not missing, f"add to docs/configuration.md: {sorted(missing)}"


def test_every_documented_variable_is_read():
    """A documented name missing from the code must be one of the core settings built from a
    field name, and then setting it must change what Settings.from_env reads."""
    baseline = Settings.from_env({}, secret_key="k")
    generated = variables_in_docs() - variables_in_code() - TEST_ONLY
    assert "CABINET_FIRM_NAME" in generated  # the case this test exists for
    for name in sorted(generated):
        value = GENERATED_VALUES.get(name, "docs-check")
        read = Settings.from_env({name: value}, secret_key="k")
        assert read != baseline, f"docs/configuration.md names {name}, which nothing reads"


@pytest.fixture
def openapi(tmp_path: Path) -> dict[str, Any]:
    settings = Settings(data_dir=tmp_path, secret_key="docs-" + "x" * 32)
    # The API is cabinet-web's own plus what the installed plugins add through the
    # ``api_endpoints`` hook (cabinet-ksef's operations); its description needs no database rows.
    with (
        Cabinet(settings) as cabinet,
        TestClient(create_app(cabinet)) as web,
    ):
        response = web.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_api_md_lists_every_operation_and_no_other(openapi: dict[str, Any]) -> None:
    published = {
        (method.upper(), path)
        for path, operations in openapi["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    documented = set(OPERATION.findall(API_MD.read_text(encoding="utf-8")))
    assert len(published) > 30
    assert published - documented == set(), "operations missing from docs/api.md"
    assert documented - published == set(), "docs/api.md lists operations that do not exist"
