"""The password policy (NIST SP 800-63B §5.1.1.2): long beats clever, and a password that is
on a list of common (breached) passwords, or is the account's own e-mail or name, is refused.

No composition rules (digits, capitals): they make passwords harder to remember, not to guess.
The list is Django's ``common-passwords.txt.gz`` (about 20,000 passwords seen most often in
breaches, lower case), shipped unmodified in ``cabinet_core/password_lists`` with its source and
licence (``README.md`` there). A password is compared in lower case, also with the digits and
punctuation around it taken off (``Password2026!`` is ``password``) and as a repetition of one
piece (``qwertyqwerty``).
"""

from __future__ import annotations

import functools
import gzip
import string
from collections.abc import Callable
from importlib import resources

from cabinet_core.errors import N_, FieldError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "asked_ahead",
    "common_passwords",
    "is_common",
    "password_errors",
]

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
#: What people put around a common word to pass a length rule.
_DECORATION = string.digits + string.punctuation + string.whitespace
#: Shorter cores are too short to tell anything (and every 3-letter word is "common").
_MIN_CORE = 4


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (read once per process, about 20,000 entries)."""
    data = resources.files("cabinet_core.password_lists").joinpath("common-passwords.txt.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def _period(text: str) -> str:
    """The shortest piece that ``text`` is a repetition of (``text`` itself if none)."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def is_common(password: str) -> bool:
    """Whether ``password`` is a common one, or one dressed up with digits and punctuation, or
    a repetition of a common (or a very short) piece."""
    common = common_passwords()
    lowered = password.strip().lower()
    core = lowered.strip(_DECORATION)
    if lowered in common or (len(core) >= _MIN_CORE and core in common):
        return True
    piece = _period(lowered)
    return piece != lowered and (len(piece) < _MIN_CORE or piece in common)


def _resembles_account(password: str, email: str, name: str) -> bool:
    lowered = password.strip().lower()
    core = lowered.strip(_DECORATION)
    email = email.strip().lower()
    local = email.partition("@")[0]
    name_forms = {name.strip().lower(), "".join(name.lower().split())} - {""}
    candidates = {email, local, *name_forms} - {""}
    return bool(
        candidates & {lowered, core} or (len(email) >= _MIN_CORE and email and email in lowered)
    )


def password_errors(
    password: str,
    field: str = "password",
    *,
    email: str = "",
    name: str = "",
    breached: Callable[[str], bool] | None = None,
) -> list[FieldError]:
    """Problems with a new password: fewer than 10 characters, too long, a common (breached)
    password, or the account's own e-mail address or name; with ``breached`` (the installation's
    :class:`~cabinet_core.breached_passwords.BreachedPasswordCheck`), also a password that
    check knows from a breach. The service is asked last, only about an otherwise good one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [
            FieldError(
                field=field,
                code="too_short",
                message=N_("The password must have at least 10 characters."),
                params={"min": MIN_PASSWORD_LENGTH},
            )
        ]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [FieldError(field=field, code="too_long", message=N_("The password is too long."))]
    if is_common(password):
        return [
            FieldError(
                field=field,
                code="common",
                message=N_(
                    "This password is on a list of common passwords that attackers try "
                    "first. Choose another one, for example a few unrelated words."
                ),
            )
        ]
    if _resembles_account(password, email, name):
        return [
            FieldError(
                field=field,
                code="like_account",
                message=N_("The password must not be your e-mail address or name."),
            )
        ]
    if breached is not None and breached(password):
        return [
            FieldError(
                field=field,
                code="breached",
                message=N_(
                    "This password has appeared in a data breach, so attackers try it. "
                    "Choose another one, for example a few unrelated words."
                ),
            )
        ]
    return []


def asked_ahead(
    breached: Callable[[str], bool] | None, password: str, *, email: str = "", name: str = ""
) -> Callable[[str], bool] | None:
    """``breached`` asked now, before a database transaction opens (a network call must not
    hold a connection), and only about a password the other rules let through: its answer as
    a check to pass to :func:`password_errors` inside the transaction."""
    if breached is None or password_errors(password, email=email, name=name):
        return None
    found = breached(password)
    return lambda _password: found
