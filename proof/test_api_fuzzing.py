"""Schemathesis against the JSON API: every operation of ``/api/v1/openapi.json``, as an admin
and as a client user, in-process (ASGI), with schema-valid and schema-invalid requests.

What must hold for every request it sends:

- no server error (5xx);
- every answer matches the OpenAPI document: its status is declared, its body follows the
  declared schema, its content type is the declared one;
- a request that breaks the document is refused (4xx), and a 405 names the allowed methods in
  ``Allow``;
- a request that the document calls valid is never refused for a reason the document could
  have said (a length, a pattern, a range, an enum, a type): such a 422 means the server
  enforces a constraint it does not publish. A 422 for a rule JSON Schema cannot express
  (a NIP's checksum, an id that names nothing, a date after another) is a proper answer.

The run is bounded by ``MAX_EXAMPLES`` per operation and role (a few minutes in all); set
``CABINET_FUZZ_EXAMPLES`` to go deeper locally.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client, Document, DocumentLine, Party, Role, User
from cabinet_core.errors import AuthenticationFailed
from cabinet_core.settings import Settings
from cabinet_web.app import create_app
from schemathesis import Case, Response
from schemathesis.checks import CheckContext
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.testclient import TestClient

# Hypothesis warns about the size of the odd generated body; that is no failure of the API.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

MAX_EXAMPLES = int(os.environ.get("CABINET_FUZZ_EXAMPLES", "10"))
# A fixed seed keeps CI's run reproducible; set CABINET_FUZZ_SEED to explore other inputs.
SEED = int(os.environ.get("CABINET_FUZZ_SEED", "20261207"))
PASSWORD = "fuzzing-horse-42"
SYSTEM = Actor.system()

# Codes of field errors that JSON Schema can state; a 422 with only these for a request the
# document calls valid means the document is missing a constraint.
DECLARABLE_CODES = frozenset(
    {
        "required",
        "type",
        "string",
        "too_long",
        "too_short",
        "max_length",
        "min_length",
        "length",
        "pattern",
        "format",
        "range",
        "integer",
        "enum",
        "choice",
        "unsupported",
        "object",
        "media_type",
    }
)

# Operations that refuse some schema-valid requests with a 422 for a reason the document
# cannot state, each with that reason (docs/api.md lists them too). Only this kind of failure
# is tolerated for them, and only for them: anything else on any operation fails the suite.
# Everything else a server checks is declared where it is checked: required texts with the
# core's NON_BLANK_PATTERN (cabinet_core.limits: non_blank_fields, or text(non_blank=True) in a
# hand-written body), languages from Settings.languages, workflow comments from the workflow's
# transitions (transition_body), enums and ranges beside the code that reads them.
KNOWN_UNDECLARED = {
    # "to" defaults to the buyer's address on record: required only when the document has none,
    # which is the stored document's state, not the request's.
    "POST /api/v1/documents/{doc_id}/send": "the address when the buyer has none on record",
    # The move is named in the path, and whether it needs a comment (cancel, return) depends on
    # that key and on the document's type: a body schema cannot depend on a path parameter
    # (POST /documents/{doc_id}/transitions declares it, with the key in the body).
    "POST /api/v1/documents/{doc_id}/transitions/{key}": "a comment when the move needs one",
    # Switching KSeF on needs credentials unless some are stored: a rule across the body and
    # the stored state; an uploaded certificate file must not be empty.
    "POST /api/v1/ksef/clients/{client_id}": "credentials when switching on; a non-empty file",
    # client_id is required of staff and implied for a client user: what is required depends
    # on who asks, and one document serves every role.
    "GET /api/v1/chat": "client_id required of staff",
    "POST /api/v1/chat": "client_id required of staff",
    "GET /api/v1/counterparties": "client_id required of staff",
    "GET /api/v1/products": "client_id required of staff",
    "POST /api/v1/cash-desks": "client_id required of staff",
    "POST /api/v1/counterparties": "client_id required of staff",
    "POST /api/v1/products": "client_id required of staff",
    "POST /api/v1/documents/preview-totals": "client_id required of staff",
    "POST /api/v1/documents/import-fa3": (
        "client_id of staff; the file must be there; a multipart form of more than 10 parts "
        "(Schemathesis splits one property into several) is a 400"
    ),
    # What a document needs depends on its type, a plugin's choice at run time (a cost
    # invoice's seller invoice number, a VAT invoice's buyer and lines): one Document schema
    # serves every type.
    "POST /api/v1/documents": "a document type's own required fields (buyer, lines, extra)",
    "PUT /api/v1/documents/{doc_id}": "a document type's own required fields (buyer, lines)",
    # What a file is, is decided by its bytes, and an FA(3) file exists only once issued.
    "POST /api/v1/documents/{doc_id}/attachments": "a PDF, JPG or PNG by its content",
    "GET /api/v1/documents/{doc_id}/xml": "only an issued invoice has an FA(3) file",
}

# Endpoints that hold the connection open (Server-Sent Events): a request never ends by itself.
STREAMS = {"/api/v1/chat/events", "/api/v1/chat/{client_id}/events"}


class Fuzzed:
    """The cabinet under test and the credentials of its two fuzzing users."""

    def __init__(self, cabinet: Cabinet, admin: User, client_user: User) -> None:
        self.cabinet = cabinet
        self.users = {"admin": admin, "client": client_user}
        self.secrets: dict[str, str] = {}

    def secret(self, role: str) -> str:
        """A working token of ``role``'s user: the fuzzer itself may have deactivated the user,
        changed its password or revoked its token with an earlier request."""
        user = self.users[role]
        assert user.id is not None
        secret = self.secrets.get(role)
        try:
            if secret is None:
                raise AuthenticationFailed("no token yet")
            self.cabinet.tokens.authenticate(secret)
        except AuthenticationFailed:
            stored = self.cabinet.users.get(SYSTEM, user.id)
            if not stored.active:
                self.cabinet.users.reactivate(Actor.of(self.users["admin"]), user.id)
            _, secret = self.cabinet.tokens.create(Actor.of(user), name="fuzzing")
            self.secrets[role] = secret
        return secret


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        secret_key="fuzzing-secret-key-" + "x" * 32,
        login_attempts=1000,
    )
    # With the installed plugins: their operations (KSeF's /api/v1/ksef/clients/…) are in the
    # document and fuzzed like the core's.
    with Cabinet(settings_, load_entrypoints=True) as cabinet:
        cabinet.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cabinet.migrate()
        yield Fuzzed(cabinet, *_seed(cabinet))


def _seed(cabinet: Cabinet) -> tuple[User, User]:
    """Two clients with a document each, so small ids the fuzzer draws name real objects."""
    admin = cabinet.users.create(
        SYSTEM,
        email="admin@fuzz.pl",
        name="Ada",
        role=Role.ADMIN,
        client_id=None,
        password=PASSWORD,
    )
    owners = [
        cabinet.clients.create(
            SYSTEM,
            Client(
                name=name,
                nip=nip,
                address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
            ),
        )
        for name, nip in (("Alfa sp. z o.o.", "5250000110"), ("Beta s.c.", "7790000126"))
    ]
    client_user = cabinet.users.create(
        SYSTEM,
        email="client@fuzz.pl",
        name="Jan",
        role=Role.CLIENT,
        client_id=owners[0].id,
        password=PASSWORD,
    )
    for owner in owners:
        assert owner.id is not None
        cabinet.documents.create(
            SYSTEM,
            Document(
                client_id=owner.id,
                doc_type="vat_invoice",
                issue_date=date(2026, 11, 2),
                buyer=Party(name="Gamma S.A.", nip="1234563218"),
                lines=(DocumentLine(name="Usługa", unit_price=Decimal("100.00")),),
            ),
        )
    return admin, client_user


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                # The tokens come from the auth provider below, not from the generator.
                "with-security-parameters": False,
            },
            "checks": {"positive_data_acceptance": {"enabled": False}},
            # Links between operations are not declared; the stateful phase has nothing to do.
            "phases": {"stateful": {"enabled": False}},
        }
    )


@schemathesis.check
def undeclared_constraint(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A schema-valid request refused with 422 only for reasons the document could state."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if case.operation.label in KNOWN_UNDECLARED and response.status_code in (400, 422):
            return None
        if response.status_code != 422:
            raise
        body = _body_schema(case)
        codes = {
            error.get("code")
            for error in (response.json() or {}).get("errors") or []
            # The document's description says it: a number beyond 32 bits is refused anywhere
            # in a body, also in a property the operation does not declare.
            if not (error.get("code") == "range" and not _declares(case, body, error["field"]))
        }
        if codes and codes <= DECLARABLE_CODES:
            raise
        return None


def _body_schema(case: Case) -> dict[str, Any]:
    raw = case.operation.schema.raw_schema
    operation = raw["paths"][case.operation.path][case.operation.method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    schema: dict[str, Any] = content.get("application/json", {}).get("schema", {})
    return schema


def _declares(case: Case, schema: dict[str, Any], field: str) -> bool:
    """Whether the body schema describes the property at ``field`` (``lines.0.name``)."""
    components = case.operation.schema.raw_schema["components"]["schemas"]
    for segment in field.split("."):
        while "$ref" in schema or "anyOf" in schema:
            if "$ref" in schema:
                schema = components[schema["$ref"].rsplit("/", 1)[1]]
            else:
                objects = [o for o in schema["anyOf"] if "properties" in o or "items" in o]
                schema = objects[0] if objects else {}
        if segment.isdigit() and "items" in schema:
            schema = schema["items"]
        elif segment in schema.get("properties", {}):
            schema = schema["properties"][segment]
        else:
            return False
    return True


def _fuzz(fuzzed: Fuzzed, role: str) -> list[str]:
    """Every failure of one run as ``operation: title`` plus the request that caused it."""
    schema = schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json", create_app(fuzzed.cabinet), config=_config()
    ).exclude(path=sorted(STREAMS))

    class Bearer:
        """The role's token, checked before each request (the fuzzer may revoke it)."""

        def get(self, case: Case, ctx: Any) -> str:
            return fuzzed.secret(role)

        def set(self, case: Case, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    schema.auth(refresh_interval=None)(Bearer)
    found: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                interaction = event.recorder.interactions.get(case_id)
                answer = interaction.response if interaction is not None else None
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.append(
                            f"{failure.operation}: {failure.title}\n{failure.message}\n"
                            f"{check.failure_info.code_sample}\n"
                            + (
                                f"-> {answer.status_code} {answer.content[:400]!r}"
                                if answer is not None and answer.content
                                else ""
                            )
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            found.append(f"engine error: {event!r}")
    return found


def test_every_known_exception_names_an_operation_and_a_reason(fuzzed: Fuzzed) -> None:
    """KNOWN_UNDECLARED does not outlive its operations (a moved or removed one is dropped)."""
    with TestClient(create_app(fuzzed.cabinet)) as client:
        document = client.get("/api/v1/openapi.json").json()
    operations = {
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    }
    stale = sorted(set(KNOWN_UNDECLARED) - operations)
    assert not stale, f"KNOWN_UNDECLARED names operations the API no longer has: {stale}"
    assert all(reason.strip() for reason in KNOWN_UNDECLARED.values())


@pytest.mark.parametrize("role", ["admin", "client"])
def test_the_api_keeps_its_document(fuzzed: Fuzzed, role: str) -> None:
    failures = _fuzz(fuzzed, role)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures) + HINT


HINT = """

A "Schema-valid request rejected" is a 422 for a constraint the server enforces and the OpenAPI
document does not declare: declare it in the operation's schema where it is checked (a length,
a pattern, a range, an enum; a required text with text(non_blank=True) or the core's
non_blank_fields; see the list above KNOWN_UNDECLARED). Only a rule JSON Schema cannot express
belongs in KNOWN_UNDECLARED, with its reason."""


if __name__ == "__main__":  # pragma: no cover - a local shortcut
    sys.exit(pytest.main([str(Path(__file__)), "-q"]))
