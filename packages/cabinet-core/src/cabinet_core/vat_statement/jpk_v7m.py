"""JPK_V7M(3): the monthly VAT register with the VAT-7 declaration, as the Ministry's schema
(``http://crd.gov.pl/wzor/2025/12/19/14090/``) lays it out.

The file is written incrementally with :class:`xml.sax.saxutils.XMLGenerator`: rows go straight
from the register's iterator to the output stream, so memory stays flat however many rows a
month has (``bench/vat.py`` measures it). The declaration comes before the rows in the file, so
the caller computes it first (a first pass over the same rows, see
:meth:`cabinet_core.services.VatStatementService.write_jpk`); the control sums after the rows are
counted while writing.

:func:`validate_jpk` checks a file against the official schema shipped in ``schemas/jpk_v7m``
(offline: the schema's absolute imports map to the local copies).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

import attrs

from cabinet_core.vat_statement.declaration import Declaration
from cabinet_core.vat_statement.markers import SALES_MARKERS

if TYPE_CHECKING:
    from xmlschema import XMLSchema
from cabinet_core.vat_statement.registers import PURCHASE, SALES, KTotals, RegisterRow

__all__ = [
    "JPK_NAMESPACE",
    "JpkHeader",
    "Taxpayer",
    "jpk_schema",
    "tax_office_codes",
    "validate_jpk",
    "write_jpk",
]

JPK_NAMESPACE = "http://crd.gov.pl/wzor/2025/12/19/14090/"
ETD_NAMESPACE = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/09/13/eD/DefinicjeTypy/"
SCHEMA_DIR = Path(__file__).parent / "schemas" / "jpk_v7m"
_MAIN_SCHEMA = "schemat_JPK_V7M(3)_v1-0E.xsd"
_BASE_URL = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/"
MAX_ERRORS = 50
#: Bytes collected before each write to the caller's stream.
_BUFFER = 64 * 1024
_TAX_OFFICES_NAMESPACE = (
    "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/KodyUrzedowSkarbowych/"
)

#: The ``K_`` fields of a sales row in the schema's order, and the pairs written together.
SALES_K = (
    "K_10", "K_11", "K_12", "K_13", "K_14", "K_15", "K_16", "K_17", "K_18", "K_19", "K_20",
    "K_21", "K_22", "K_23", "K_24", "K_25", "K_26", "K_27", "K_28", "K_29", "K_30", "K_31",
    "K_32", "K_33", "K_34", "K_35", "K_36", "K_360",
)  # fmt: skip
PURCHASE_K = ("K_40", "K_41", "K_42", "K_43", "K_44", "K_45", "K_46", "K_47")
_K_PAIRS = {
    first: second
    for first, second in (
        ("K_15", "K_16"), ("K_17", "K_18"), ("K_19", "K_20"), ("K_23", "K_24"),
        ("K_25", "K_26"), ("K_27", "K_28"), ("K_29", "K_30"), ("K_31", "K_32"),
        ("K_40", "K_41"), ("K_42", "K_43"),
    )
}  # fmt: skip
_K_PARTNER = {**_K_PAIRS, **{second: first for first, second in _K_PAIRS.items()}}


def _local_copy(uri: str) -> str:
    if uri.startswith(_BASE_URL):
        return (SCHEMA_DIR.resolve() / "bazowe" / uri.rsplit("/", 1)[1]).as_uri()
    return uri


@functools.cache
def jpk_schema() -> XMLSchema:
    """The JPK_V7M(3) schema, built once per process from the shipped files."""
    # xmlschema and the built schema only in a process that writes or checks a JPK file.
    from xmlschema import XMLSchema

    return XMLSchema(
        str(SCHEMA_DIR.resolve() / _MAIN_SCHEMA), uri_mapper=_local_copy, allow="local"
    )


@functools.cache
def tax_office_codes() -> frozenset[str]:
    """The four-digit tax office codes (``KodUrzedu``, type ``TKodUS``) the schema accepts."""
    kind = jpk_schema().maps.types[f"{{{_TAX_OFFICES_NAMESPACE}}}TKodUS"]
    return frozenset(str(value) for value in getattr(kind, "enumeration", None) or ())


def validate_jpk(xml: bytes | str | Path) -> list[str]:
    """The schema errors of a JPK_V7M(3) file as ``"path: reason"`` lines (empty when valid)."""
    import xmlschema

    source = str(xml) if isinstance(xml, Path) else xml
    try:
        resource = xmlschema.XMLResource(
            source, defuse="always", allow="local" if isinstance(xml, Path) else "none"
        )
    except (xmlschema.XMLResourceError, SyntaxError, ValueError) as error:
        return [f"/: not well-formed XML ({error})"]
    errors: list[str] = []
    for problem in jpk_schema().iter_errors(resource):
        errors.append(f"{problem.path or '/'}: {problem.reason or problem.message}")
        if len(errors) >= MAX_ERRORS:
            break
    return errors


@attrs.frozen(kw_only=True)
class JpkHeader:
    """``Naglowek``: the month, the tax office, the purpose (1 a filing, 2 a correction)."""

    year: int
    month: int
    tax_office: str
    created_at: datetime
    purpose: int = 1
    system_name: str = "cabinet"


@attrs.frozen(kw_only=True)
class Taxpayer:
    """``Podmiot1``: a company (``OsobaNiefizyczna``) or, with ``first_name``, ``last_name``
    and ``birth_date``, a natural person (``OsobaFizyczna``)."""

    nip: str
    name: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


class _Passthrough(io.RawIOBase):
    """The caller's stream as a raw stream, so a buffer can sit in front of it (XMLGenerator
    writes every tag and text piece separately; unbuffered, that is one write per piece)."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._out.write(bytes(data))
        return len(data)


class _Writer:
    def __init__(self, out: BinaryIO) -> None:
        self._buffer = io.BufferedWriter(_Passthrough(out), buffer_size=_BUFFER)
        self._text = io.TextIOWrapper(self._buffer, encoding="utf-8", newline="")
        self._xml = XMLGenerator(self._text, encoding="utf-8", short_empty_elements=True)

    def finish(self) -> None:
        """Flush what is buffered to the caller's stream (which stays open)."""
        self._text.flush()
        self._buffer.flush()
        self._text.detach()

    def start(self, name: str, attributes: dict[str, str] | None = None) -> None:
        self._xml.startElement(name, AttributesImpl(attributes or {}))

    def end(self, name: str) -> None:
        self._xml.endElement(name)

    def leaf(self, name: str, text: str, attributes: dict[str, str] | None = None) -> None:
        self._xml.startElement(name, AttributesImpl(attributes or {}))
        self._xml.characters(text)
        self._xml.endElement(name)

    def document(self) -> XMLGenerator:
        return self._xml


def _text(value: str, limit: int) -> str:
    # TZnakowy/TZnakowyJPK are tokens of at most 512/256 characters.
    return " ".join(value.split())[:limit] or "BRAK"


def _k_fields(row: RegisterRow, order: tuple[str, ...]) -> list[tuple[str, Decimal]]:
    present = {name for name, value in row.k.items() if value != 0}
    for name in list(present):
        if name in _K_PARTNER:
            present.add(_K_PARTNER[name])
    zero = Decimal(0)
    return [(name, row.k.get(name, zero)) for name in order if name in present]


def _ksef(writer: _Writer, row: RegisterRow) -> None:
    if row.ksef_marker == "NrKSeF" and row.ksef_number:
        writer.leaf("NrKSeF", row.ksef_number)
    else:
        writer.leaf(row.ksef_marker if row.ksef_marker in ("OFF", "BFK", "DI") else "BFK", "1")


def _party(writer: _Writer, row: RegisterRow, id_name: str, name_name: str) -> None:
    if row.country != "PL":
        writer.leaf("KodKrajuNadaniaTIN", row.country)
    writer.leaf(id_name, _text(row.tax_id, 50))
    writer.leaf(name_name, _text(row.counterparty_name, 512))


def _sales_row(writer: _Writer, row: RegisterRow, lp: int) -> None:
    writer.start("SprzedazWiersz")
    writer.leaf("LpSprzedazy", str(lp))
    _party(writer, row, "NrKontrahenta", "NazwaKontrahenta")
    writer.leaf("DowodSprzedazy", _text(row.number, 256))
    writer.leaf("DataWystawienia", row.issue_date.isoformat())
    if row.other_date is not None:
        writer.leaf("DataSprzedazy", row.other_date.isoformat())
    _ksef(writer, row)
    if row.document_kind:
        writer.leaf("TypDokumentu", row.document_kind)
    for marker in row.markers:
        if marker in SALES_MARKERS:
            writer.leaf(marker, "1")
    for name, value in _k_fields(row, SALES_K):
        writer.leaf(name, _amount(value))
    writer.end("SprzedazWiersz")


def _purchase_row(writer: _Writer, row: RegisterRow, lp: int) -> None:
    writer.start("ZakupWiersz")
    writer.leaf("LpZakupu", str(lp))
    _party(writer, row, "NrDostawcy", "NazwaDostawcy")
    writer.leaf("DowodZakupu", _text(row.number, 256))
    writer.leaf("DataZakupu", row.issue_date.isoformat())
    if row.other_date is not None:
        writer.leaf("DataWplywu", row.other_date.isoformat())
    _ksef(writer, row)
    if row.document_kind:
        writer.leaf("DokumentZakupu", row.document_kind)
    if "IMP" in row.markers:
        writer.leaf("IMP", "1")
    for name, value in _k_fields(row, PURCHASE_K):
        writer.leaf(name, _amount(value))
    writer.end("ZakupWiersz")


def _header(writer: _Writer, header: JpkHeader) -> None:
    writer.start("Naglowek")
    writer.leaf("KodFormularza", "JPK_VAT", {"kodSystemowy": "JPK_V7M (3)", "wersjaSchemy": "1-0E"})
    writer.leaf("WariantFormularza", "3")
    created = header.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    writer.leaf("DataWytworzeniaJPK", created)
    writer.leaf("NazwaSystemu", _text(header.system_name, 240))
    writer.leaf("CelZlozenia", str(header.purpose), {"poz": "P_7"})
    writer.leaf("KodUrzedu", header.tax_office)
    writer.leaf("Rok", str(header.year))
    writer.leaf("Miesiac", str(header.month))
    writer.end("Naglowek")


def _taxpayer(writer: _Writer, taxpayer: Taxpayer) -> None:
    writer.start("Podmiot1", {"rola": "Podatnik"})
    if taxpayer.first_name and taxpayer.last_name and taxpayer.birth_date:
        writer.start("OsobaFizyczna")
        writer.leaf("etd:NIP", taxpayer.nip)
        writer.leaf("etd:ImiePierwsze", _text(taxpayer.first_name, 30))
        writer.leaf("etd:Nazwisko", _text(taxpayer.last_name, 81))
        writer.leaf("etd:DataUrodzenia", taxpayer.birth_date.isoformat())
        writer.leaf("Email", taxpayer.email)
        writer.end("OsobaFizyczna")
    else:
        writer.start("OsobaNiefizyczna")
        writer.leaf("NIP", taxpayer.nip)
        writer.leaf("PelnaNazwa", _text(taxpayer.name, 240))
        writer.leaf("Email", taxpayer.email)
        writer.end("OsobaNiefizyczna")
    writer.end("Podmiot1")


def _declaration(writer: _Writer, declaration: Declaration) -> None:
    writer.start("Deklaracja")
    writer.start("Naglowek")
    writer.leaf(
        "KodFormularzaDekl",
        "VAT-7",
        {
            "kodSystemowy": "VAT-7 (23)",
            "kodPodatku": "VAT",
            "rodzajZobowiazania": "Z",
            "wersjaSchemy": "1-0E",
        },
    )
    writer.leaf("WariantFormularzaDekl", "23")
    writer.end("Naglowek")
    writer.start("PozycjeSzczegolowe")
    for name, value in declaration.written():
        writer.leaf(name, str(value))
    writer.end("PozycjeSzczegolowe")
    writer.leaf("Pouczenia", "1")
    writer.end("Deklaracja")


def write_jpk(
    out: BinaryIO,
    *,
    header: JpkHeader,
    taxpayer: Taxpayer,
    declaration: Declaration | None,
    sales: Iterable[RegisterRow],
    purchases: Iterable[RegisterRow],
) -> tuple[KTotals, KTotals]:
    """Write the JPK_V7M(3) file to ``out`` row by row; the sales and purchase sums written
    in the control sections are returned (the caller may compare them with its first pass).

    Rows that do not go to JPK (a purchase marked not deductible) are skipped; ``Lp`` counts
    the rows written. ``declaration`` ``None`` writes the register alone (the schema allows it).
    """
    writer = _Writer(out)
    xml = writer.document()
    xml.startDocument()
    writer.start(
        "JPK",
        {
            "xmlns": JPK_NAMESPACE,
            "xmlns:etd": ETD_NAMESPACE,
        },
    )
    _header(writer, header)
    _taxpayer(writer, taxpayer)
    if declaration is not None:
        _declaration(writer, declaration)
    writer.start("Ewidencja")
    sold = KTotals(side=SALES)
    for row in sales:
        if not row.in_jpk:
            continue
        sold.add(row)
        _sales_row(writer, row, sold.count)
    writer.start("SprzedazCtrl")
    writer.leaf("LiczbaWierszySprzedazy", str(sold.count))
    writer.leaf("PodatekNalezny", _amount(sold.tax))
    writer.end("SprzedazCtrl")
    bought = KTotals(side=PURCHASE)
    for row in purchases:
        if not row.in_jpk:
            continue
        bought.add(row)
        _purchase_row(writer, row, bought.count)
    writer.start("ZakupCtrl")
    writer.leaf("LiczbaWierszyZakupow", str(bought.count))
    writer.leaf("PodatekNaliczony", _amount(bought.tax))
    writer.end("ZakupCtrl")
    writer.end("Ewidencja")
    writer.end("JPK")
    xml.endDocument()
    writer.finish()
    return sold, bought
