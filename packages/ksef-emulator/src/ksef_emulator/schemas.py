"""The official schemas shipped with the package (copies; origin in ``schemas/fa3/NOTICE.md``):
FA(3) for received invoices, the auth XSD 2.1 for ``AuthTokenRequest`` and UPO v4-3 for the
receipts the emulator writes. Validation never touches the network: the FA(3) schema's remote
import is mapped onto the local copy and every other remote access is refused.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree
from xmlschema import XMLResource, XMLSchema

__all__ = [
    "SCHEMA_DIR",
    "auth_schema",
    "errors_of",
    "fa3_schema",
    "fa3_validator",
    "upo_schema",
]

SCHEMA_DIR = Path(__file__).parent / "schemas"
_BASE_TYPES_URL = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
MAX_ERRORS = 20


def _local_copy(uri: str) -> str:
    if uri.startswith(_BASE_TYPES_URL):
        return (SCHEMA_DIR.resolve() / "fa3" / "bazowe" / uri[len(_BASE_TYPES_URL) :]).as_uri()
    return uri


@functools.cache
def fa3_schema() -> XMLSchema:
    """``schemat_FA(3)_v1-0E.xsd`` (built once per process)."""
    return XMLSchema(
        str(SCHEMA_DIR.resolve() / "fa3" / "schemat_FA(3)_v1-0E.xsd"),
        uri_mapper=_local_copy,
        allow="local",
    )


class _LocalBaseTypes(etree.Resolver):
    """Resolves the FA(3) schema's remote import to the shipped copy; nothing else."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        if system_url.startswith(_BASE_TYPES_URL):
            local = SCHEMA_DIR.resolve() / "fa3" / "bazowe" / system_url[len(_BASE_TYPES_URL) :]
            return self.resolve_filename(str(local), context)  # type: ignore[attr-defined]
        return None


@functools.cache
def fa3_validator() -> etree.XMLSchema:
    """The FA(3) schema compiled by libxml2 (about 40 times faster than :func:`fa3_schema`,
    which matters when a benchmark sends thousands of invoices). Not thread-safe: the
    emulator validates under its lock."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalBaseTypes())
    document = etree.parse(str(SCHEMA_DIR.resolve() / "fa3" / "schemat_FA(3)_v1-0E.xsd"), parser)
    return etree.XMLSchema(document)


@functools.cache
def auth_schema() -> XMLSchema:
    """``schemat_auth_v2-1.xsd`` (2.0 does not compile; its namespace is mapped onto 2.1)."""
    return XMLSchema(str(SCHEMA_DIR.resolve() / "auth" / "schemat_auth_v2-1.xsd"), allow="local")


@functools.cache
def upo_schema() -> XMLSchema:
    """``upo-v4-3.xsd``."""
    return XMLSchema(str(SCHEMA_DIR.resolve() / "upo" / "upo-v4-3.xsd"), allow="local")


def errors_of(schema: XMLSchema, xml: bytes) -> list[str]:
    """The schema errors of ``xml`` as ``"path: reason"`` lines (empty when valid); entities
    and external resources are refused."""
    try:
        resource = XMLResource(xml, defuse="always", allow="none")
    except (xmlschema.XMLResourceError, SyntaxError, ValueError) as error:
        return [f"Nieprawidłowy XML: {error}"]
    errors: list[str] = []
    for problem in schema.iter_errors(resource):
        errors.append(f"{problem.path or '/'}: {problem.reason or problem.message}")
        if len(errors) >= MAX_ERRORS:
            break
    return errors
