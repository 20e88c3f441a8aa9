"""Offline validation of FA(3) e-invoices against the official schema shipped with the package.

KSeF rejects a file that does not validate against ``schemat_FA(3)_v1-0E.xsd``, so every FA(3)
file the cabinet writes is checked here first. The main schema imports its base types by an
absolute ``http://crd.gov.pl/…`` URL; the validator maps that URL to the copy in
``schemas/fa3/bazowe`` and refuses any other remote access, so validation never touches the
network (and a hostile document cannot make it do so).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xmlschema import XMLSchema

__all__ = ["FA3_NAMESPACE", "SCHEMA_DIR", "fa3_schema", "validate_fa3"]

#: The FA(3) target namespace (``Faktura`` and everything in it).
FA3_NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"
#: Where the official schema files are shipped (see ``NOTICE.md`` there for their origin).
SCHEMA_DIR = Path(__file__).parent / "schemas" / "fa3"
_MAIN_SCHEMA = "schemat_FA(3)_v1-0E.xsd"
_BASE_TYPES_URL = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
#: Enough to fix a file; a broken generator would otherwise report thousands of the same error.
MAX_ERRORS = 50


def _local_copy(uri: str) -> str:
    """The shipped copy of a schema the FA(3) schema imports by its public URL."""
    if uri.startswith(_BASE_TYPES_URL):
        return (SCHEMA_DIR.resolve() / "bazowe" / uri[len(_BASE_TYPES_URL) :]).as_uri()
    return uri


@functools.cache
def fa3_schema() -> XMLSchema:
    """The FA(3) schema, built once per process from the shipped files (about half a second)."""
    # xmlschema and the built schema (tens of MB) only in a process that validates.
    from xmlschema import XMLSchema

    return XMLSchema(
        str(SCHEMA_DIR.resolve() / _MAIN_SCHEMA), uri_mapper=_local_copy, allow="local"
    )


def validate_fa3(xml: bytes) -> list[str]:
    """The schema errors of an FA(3) document, as ``"path: reason"`` lines (empty when valid).

    ``xml`` is parsed with entity expansion and external resources refused, so the function is
    safe on files uploaded by users. A document that is not well-formed XML gives one error.
    At most :data:`MAX_ERRORS` errors are reported.
    """
    import xmlschema

    try:
        resource = xmlschema.XMLResource(xml, defuse="always", allow="none")
    except (xmlschema.XMLResourceError, SyntaxError, ValueError) as error:
        return [f"/: not well-formed XML ({error})"]
    errors: list[str] = []
    for problem in fa3_schema().iter_errors(resource):
        errors.append(f"{problem.path or '/'}: {problem.reason or problem.message}")
        if len(errors) >= MAX_ERRORS:
            break
    return errors
