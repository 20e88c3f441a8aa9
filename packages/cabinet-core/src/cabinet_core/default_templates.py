"""The built-in document templates an admin can allow a client to use."""

from __future__ import annotations

from cabinet_core.entities import Template
from cabinet_core.hookspecs import Register, hookimpl

#: The issued documents the built-in templates lay out.
SALES_DOCUMENTS = ("vat_invoice", "proforma", "correcting_invoice", "bill")

CLASSIC = Template(key="classic", name="Klasyczny / Classic", document_types=SALES_DOCUMENTS)
MODERN = Template(key="modern", name="Nowoczesny / Modern", document_types=SALES_DOCUMENTS)


@hookimpl
def register_templates(register: Register) -> None:
    """Register ``classic`` and ``modern`` for invoices, proformas, corrections and bills."""
    register(CLASSIC)
    register(MODERN)
