"""Document-type behaviour is declared by the types, never keyed by their names elsewhere.

A type says what it is (``ksef_kind``, ``sendable_states``, ``split_payment``,
``client_is_buyer``, ``offer_new``, ``effects``: see ``cabinet_core.doctypes.DocumentType``), so
the services, the PDF and the web read those capabilities instead of testing
``doc_type == "vat_invoice"``. This test fails when a built-in type's key appears as a string
literal, or ``doc_type`` is compared with a literal, a tuple or a constant, in ``packages/*/src``
outside ``cabinet_core/doctypes/`` and the allow-list below.
"""

from __future__ import annotations

import re
from pathlib import Path

from cabinet_core.default_document_types import BUILT_IN_TYPES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("*.py", "*.html")
DOCTYPES = Path("packages/cabinet-core/src/cabinet_core/doctypes")

#: Files that may name built-in types, and why. Keep it short.
ALLOWED = {
    # The built-in templates are registered for the types they print (the template seam
    # takes keys, as a plugin's templates do).
    "packages/cabinet-core/src/cabinet_core/default_templates.py": "template registrations",
    # cabinet-pdf's dedicated layouts of the built-in types (title, party names); any other
    # type is laid out from its fields. The one place the renderer knows keys.
    "packages/cabinet-pdf/src/cabinet_pdf/printed_types.py": "the PDF's dedicated layouts",
    # Seed data of the demo: documents of given types.
    "packages/cabinet-web/src/cabinet_web/demo.py": "demo seed data",
    # The Bitrix24 stage map's documentation example: settings name the types they map.
    "packages/cabinet-bitrix/src/cabinet_bitrix/stages.py": "a settings example in a docstring",
}

KEYS = tuple(document_type.key for document_type in BUILT_IN_TYPES)
_ALTERNATIVES = "|".join(re.escape(key) for key in KEYS)
LITERAL = re.compile(rf"""(["'])({_ALTERNATIVES})\1""")
#: ``doc_type == "…"``, ``doc_type in ("…", …)``, ``doc_type not in SOME_TYPES``: a test of a
#: type's name. Membership in a registry (``doc_type in template.document_types``, ``in
#: cabinet.document_types``) is how the seams work and is not matched.
NAME_TEST = re.compile(
    r"""doc_type\s*(?:==|!=)\s*["'A-Z]|doc_type\s+(?:not\s+)?in\s+(?:[("'\[{]|[A-Z_]{3,}\b)"""
)


def _offences() -> list[str]:
    found = []
    for pattern in SOURCES:
        for path in sorted((ROOT / "packages").glob(f"*/src/**/{pattern}")):
            relative = path.relative_to(ROOT)
            if relative.is_relative_to(DOCTYPES) or relative.as_posix() in ALLOWED:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if LITERAL.search(line) or NAME_TEST.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_no_code_outside_the_types_keys_behaviour_by_a_type_name():
    assert _offences() == []


def test_the_allow_list_names_files_that_exist_and_still_need_it():
    for relative in ALLOWED:
        text = (ROOT / relative).read_text(encoding="utf-8")
        assert LITERAL.search(text), f"{relative} no longer names a built-in type: drop it"


def test_the_checks_catch_what_they_are_for():
    offending = (
        'if document.doc_type == "vat_invoice":',
        "if doc_type in ('proforma', 'bill'):",
        "if document.doc_type not in SALES_SENDABLE:",
        "{% if d.doc_type != 'cost_invoice' %}",
        'NEW_TYPES = ("cost_invoice", "proforma")',
    )
    for line in offending:
        assert LITERAL.search(line) or NAME_TEST.search(line), line
    fine = (
        "if doc_type in template.document_types:",
        "if doc_type not in known_types:",
        "if document_type.ksef_kind is not None:",
    )
    for line in fine:
        assert not (LITERAL.search(line) or NAME_TEST.search(line)), line
