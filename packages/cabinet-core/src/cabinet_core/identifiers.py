"""Identifiers people type, checked by well-kept libraries rather than by hand.

- NIP (numer identyfikacji podatkowej), REGON, PESEL, IBAN and EU VAT numbers: python-stdnum,
  which knows every country's check digits and formats;
- country codes: ISO 3166-1 (pycountry) restricted to the codes the vendored FA(3) schema's
  ``TKodKraju`` enumeration accepts, so an address the cabinet saves can always be written
  into an invoice the Ministry's schema validates;
- e-mail addresses: email-validator (RFC 5322/6531 syntax, internationalised domains
  normalised to their ASCII form, which every mail server delivers to).

Each ``validate_*`` returns the normalised value or raises :class:`ValidationError` with one
:class:`FieldError` at ``field`` whose message is an English msgid the web layer translates.
KRS numbers have no check digit and no library: only their form is checked.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import email_validator
import pycountry
from defusedxml import ElementTree as SafeET
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_eu_vat
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.pl import nip as stdnum_nip
from stdnum.pl import pesel as stdnum_pesel
from stdnum.pl import regon as stdnum_regon

from cabinet_core.errors import N_, FieldError, ValidationError

__all__ = [
    "checked_email",
    "country_codes",
    "email_lookup_key",
    "eu_vat_prefixes",
    "is_valid_email",
    "is_valid_iban",
    "is_valid_nip",
    "is_valid_regon",
    "normalise_iban",
    "normalise_vat_eu",
    "validate_country",
    "validate_email",
    "validate_iban",
    "validate_krs",
    "validate_nip",
    "validate_pesel",
    "validate_regon",
    "validate_vat_eu",
]

# People type NIPs as "PL 123-456-32-18", "123 456 32 18", "123.456.32.18" or "1234563218";
# python-stdnum's own compact() drops only spaces and dashes.
_SEPARATORS = re.compile(r"[\s\-./]")
_XSD = "{http://www.w3.org/2001/XMLSchema}"
# The schema files cabinet_core.ksef validates against (read by path: the ksef package imports
# this module, so importing it here would be circular).
_FA3_SCHEMAS = Path(__file__).parent / "ksef" / "schemas" / "fa3"


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text).upper()


def _fail(field: str, code: str, message: str, **params: object) -> ValidationError:
    return ValidationError.single(field, code, message, **params)


def validate_nip(text: str, *, field: str = "nip") -> str:
    """Return the ten digits of a valid NIP or raise :class:`ValidationError` at ``field``.

    Separators and a leading ``PL`` prefix are dropped: ``"PL 123-456-32-18"`` → ``"1234563218"``.
    """
    value = stdnum_nip.compact(_compact(text))
    if len(value) != 10 or not value.isdigit():
        raise _fail(field, "nip_format", N_("A NIP has exactly 10 digits."))
    if not stdnum_nip.is_valid(value):
        raise _fail(field, "nip_checksum", N_("This NIP is not valid (wrong check digit)."))
    return value


def is_valid_nip(text: str) -> bool:
    """Whether ``text`` is a NIP with a correct check digit (separators and ``PL`` allowed)."""
    try:
        validate_nip(text)
    except ValidationError:
        return False
    return True


def validate_regon(text: str, *, field: str = "regon") -> str:
    """Return the digits of a valid 9- or 14-digit REGON or raise :class:`ValidationError`.

    A 14-digit REGON (a local unit) must also start with a valid 9-digit REGON.
    """
    value = _compact(text)
    if len(value) not in (9, 14) or not value.isdigit():
        raise _fail(field, "regon_format", N_("A REGON has exactly 9 or 14 digits."))
    if not stdnum_regon.is_valid(value):
        raise _fail(field, "regon_checksum", N_("This REGON is not valid (wrong check digit)."))
    return value


def is_valid_regon(text: str) -> bool:
    """Whether ``text`` is a 9- or 14-digit REGON with correct check digits."""
    try:
        validate_regon(text)
    except ValidationError:
        return False
    return True


def validate_krs(text: str, *, field: str = "krs") -> str:
    """Return the 10 digits of a KRS number (the National Court Register; it has no check
    digit, so the form is all that can be checked), or raise :class:`ValidationError`.
    Shorter numbers are written with their leading zeros ("0000123456")."""
    value = _compact(text)
    if not value.isdigit() or len(value) > 10:
        raise _fail(field, "krs_format", N_("A KRS number has 10 digits."))
    return value.zfill(10)


def validate_pesel(text: str, *, field: str = "pesel") -> str:
    """Return the 11 digits of a valid PESEL (its date of birth and check digit), or raise
    :class:`ValidationError` at ``field``."""
    value = stdnum_pesel.compact(text)
    if not stdnum_pesel.is_valid(value):
        raise _fail(field, "invalid_pesel", N_("This PESEL is not valid."))
    return value


def normalise_iban(text: str) -> str:
    """An IBAN without spaces, upper case; a bare 26-digit Polish NRB gets ``PL``."""
    value = stdnum_iban.compact(text)
    if value.isdigit() and len(value) == 26:
        value = "PL" + value
    return value


def validate_iban(text: str, *, field: str = "iban", code: str = "iban") -> str:
    """Return the IBAN (ISO 13616: the country's length and format, the check digits) as
    :func:`normalise_iban` writes it, or raise :class:`ValidationError` at ``field``."""
    value = normalise_iban(text)
    if not stdnum_iban.is_valid(value):
        raise _fail(field, code, N_("This account number is not valid."))
    return value


def is_valid_iban(text: str) -> bool:
    """Whether ``text`` is a valid IBAN (a bare 26-digit NRB counts as a Polish one)."""
    return stdnum_iban.is_valid(normalise_iban(text))


@functools.cache
def _fa3_enumeration(schema: str, type_name: str) -> frozenset[str]:
    tree = SafeET.fromstring((_FA3_SCHEMAS / schema).read_bytes())
    for simple in tree.iter(f"{_XSD}simpleType"):
        if simple.get("name") == type_name:
            return frozenset(str(node.get("value")) for node in simple.iter(f"{_XSD}enumeration"))
    raise LookupError(f"{type_name} is not in {schema}")


def country_codes() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes the FA(3) schema accepts in ``KodKraju``.

    The schema's list (``TKodKraju``) also holds codes that are not ISO countries (``XI``,
    ``XC``, ``XL``, the long-gone ``AN``); pycountry's list holds a few the Ministry has not
    added. Only a code in both is safe for an address that may end up on an invoice."""
    iso = {country.alpha_2 for country in pycountry.countries}
    return _fa3_enumeration("bazowe/KodyKrajow_v10-0E.xsd", "TKodKraju") & iso


def validate_country(
    text: str, *, field: str = "address.country", code: str = "country", default: str = "PL"
) -> str:
    """Return the upper-case country code (blank means ``default``), or raise
    :class:`ValidationError` at ``field`` when it is not one of :func:`country_codes`."""
    value = text.strip().upper() or default
    if value not in country_codes():
        raise _fail(
            field,
            code,
            N_("Enter the country as its ISO two-letter code, such as PL or DE."),
            country=value,
        )
    return value


def eu_vat_prefixes() -> frozenset[str]:
    """VAT-EU prefixes (VIES): the FA(3) schema's ``TKodyKrajowUE`` (Greece is EL, Northern
    Ireland XI), the only prefixes ``KodUE`` accepts."""
    return _fa3_enumeration("schemat_FA(3)_v1-0E.xsd", "TKodyKrajowUE")


def normalise_vat_eu(text: str) -> str:
    """A VAT-EU number as VIES writes it: upper case, no spaces, dots or dashes."""
    return _compact(text)


def validate_vat_eu(text: str, *, field: str = "vat_eu") -> str:
    """Return a valid EU VAT number (its member-state prefix, then the number that state's
    rules and check digits accept, as python-stdnum knows them), or raise
    :class:`ValidationError` at ``field``. A Polish one must hold a valid NIP."""
    value = normalise_vat_eu(text)
    if value[:2] not in eu_vat_prefixes() or len(value) < 4:
        raise _fail(
            field,
            "invalid",
            N_("Enter an EU VAT number with its country prefix, e.g. DE136695976."),
        )
    if value[:2] == "PL":
        return "PL" + validate_nip(value[2:], field=field)
    try:
        return str(stdnum_eu_vat.validate(value))
    except InvalidChecksum:
        raise _fail(
            field, "checksum", N_("This EU VAT number is not valid (wrong check digits).")
        ) from None
    except StdnumError:
        raise _fail(
            field,
            "invalid",
            N_("This is not a valid VAT number of the country its prefix names."),
        ) from None


def validate_email(text: str, *, field: str = "email") -> str:
    """Return ``text`` as a deliverable e-mail address or raise :class:`ValidationError`.

    Internationalised domains are stored in their ASCII (IDNA) form, ``jan@żółw.pl`` →
    ``jan@xn--w-uga1v8h.pl``, which every mail server accepts; a mailbox name with letters
    outside ASCII (``ż@…``) needs SMTPUTF8 end to end, which the cabinet cannot promise, so it
    is refused with a message that says so. Anything that is not one address is refused."""
    value = text.strip()
    try:
        checked = email_validator.validate_email(
            value, check_deliverability=False, allow_smtputf8=False
        )
    except email_validator.EmailNotValidError:
        if "@" in value and not value.rsplit("@", 1)[0].isascii():
            raise _fail(
                field,
                "email_not_ascii",
                N_(
                    "Write the part before @ without accented letters: mail to such an "
                    "address may not be delivered."
                ),
            ) from None
        raise _fail(field, "email", N_("Enter a valid e-mail address.")) from None
    return str(checked.ascii_email or checked.normalized)


def is_valid_email(text: str) -> bool:
    """Whether :func:`validate_email` accepts ``text``."""
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def email_lookup_key(text: str) -> str:
    """The form an address typed to find someone (signing in) is stored in: the
    :func:`validate_email` form when it is valid, else ``text`` stripped (it then finds no one)."""
    try:
        return validate_email(text)
    except ValidationError:
        return text.strip()


def checked_email(
    text: str, *, field: str = "email", required: bool = True
) -> tuple[str, list[FieldError]]:
    """``(address, errors)``: the normalised address (``text`` stripped when it is blank or
    invalid) and the field errors, for checks that gather every problem before raising."""
    if not text.strip():
        if not required:
            return "", []
        return "", [FieldError(field=field, code="required", message=N_("This field is required."))]
    try:
        return validate_email(text, field=field), []
    except ValidationError as error:
        return text.strip(), list(error.errors)
