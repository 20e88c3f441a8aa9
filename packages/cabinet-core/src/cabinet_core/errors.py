"""Errors the core raises; the web layer turns each into a form message or a JSON problem document.

Messages are English msgids marked with :func:`N_` so Babel extracts them and the web layer
translates them (the core itself never imports a translation library).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs


def N_(message: str) -> str:
    """Mark a message for extraction without translating it here."""
    return message


@attrs.frozen(kw_only=True)
class FieldError:
    """One problem with one input field (``field`` is a dotted path: ``lines.2.quantity``)."""

    field: str
    code: str
    message: str
    params: Mapping[str, Any] = attrs.field(factory=dict)


class CabinetError(Exception):
    """Base of every error the SDK raises on purpose."""

    status = 400
    title = N_("Request failed")

    def __init__(self, message: str = "", **params: Any) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.params = params


class ValidationError(CabinetError):
    """Input that cannot be saved; nothing was written."""

    status = 422
    title = N_("The data is not valid")

    def __init__(self, errors: Sequence[FieldError], message: str = "") -> None:
        super().__init__(message)
        self.errors = tuple(errors)

    @classmethod
    def single(cls, field: str, code: str, message: str, **params: Any) -> ValidationError:
        return cls([FieldError(field=field, code=code, message=message, params=params)])


class NotFound(CabinetError):
    """The thing does not exist, or the actor may not know that it does."""

    status = 404
    title = N_("Not found")


class PermissionDenied(CabinetError):
    """The actor is known but may not do this."""

    status = 403
    title = N_("You are not allowed to do this")


class Conflict(CabinetError):
    """The request clashes with the current state (stale version, transition not allowed)."""

    status = 409
    title = N_("The request conflicts with the current state")


class Unavailable(CabinetError):
    """The database cannot be reached for a moment (restarting, failing over, out of
    connections): nothing was saved, and the same request may simply be tried again."""

    status = 503
    title = N_("The service is unavailable for a moment")
    #: Seconds after which trying again makes sense (the ``Retry-After`` a web shell sends).
    retry_after = 5


class AuthenticationFailed(CabinetError):
    """Wrong credentials, a disabled account or too many attempts."""

    status = 401
    title = N_("Wrong e-mail or password")
