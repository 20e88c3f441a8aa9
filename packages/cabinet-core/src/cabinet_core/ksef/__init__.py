"""KSeF (Krajowy System e-Faktur): the FA(3) e-invoice structure, written, read and validated.

* :func:`document_to_fa3` writes a VAT or correcting invoice as FA(3) XML;
* :func:`validate_fa3` checks a file against the official schema shipped in ``schemas/fa3``;
* :func:`parse_fa3` reads a received FA(3) file into a cost-invoice :class:`Document`;
* :func:`is_ksef_number` checks the number KSeF assigns to an accepted invoice.

Pure functions: no network, no storage; the services and the web layer call them.
"""

from cabinet_core.ksef.fa3_export import document_to_fa3
from cabinet_core.ksef.fa3_import import CorrectedInvoice, ImportedInvoice, parse_fa3
from cabinet_core.ksef.numbers import find_ksef_number, is_ksef_number
from cabinet_core.ksef.validation import FA3_NAMESPACE, validate_fa3

__all__ = [
    "FA3_NAMESPACE",
    "CorrectedInvoice",
    "ImportedInvoice",
    "document_to_fa3",
    "find_ksef_number",
    "is_ksef_number",
    "parse_fa3",
    "validate_fa3",
]
