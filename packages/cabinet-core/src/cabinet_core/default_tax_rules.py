"""Built-in plugin: Poland's VAT rates and markers (see :data:`cabinet_core.vat.POLAND_2026`)."""

from __future__ import annotations

from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.vat import POLAND_2026


@hookimpl
def register_tax_rules(register: Register) -> None:
    """Register the Polish rule set valid for documents issued in 2026."""
    register(POLAND_2026)
