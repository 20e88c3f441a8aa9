"""What an API token's scopes allow at the HTTP level: reading needs ``read``, any unsafe
method (POST, PUT, PATCH, DELETE) ``write``.

The services check the rest (``admin`` for tokens, users, passwords, second factors and
sessions: :func:`cabinet_core.access.require_scope`), so every entry point gets the same answer.
"""

from __future__ import annotations

from cabinet_core.entities import TokenScope
from cabinet_core.errors import N_, PermissionDenied
from starlette.requests import Request

__all__ = ["needed_scope", "token_scope_refusal"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def needed_scope(method: str) -> TokenScope:
    """The scope a token needs for a request with this HTTP method."""
    return TokenScope.READ if method.upper() in _SAFE_METHODS else TokenScope.WRITE


def token_scope_refusal(request: Request) -> PermissionDenied | None:
    """Why a token-authenticated request is refused (a 403), or ``None`` when it may go on;
    browser sessions are never refused here."""
    scopes = getattr(request.state, "token_scopes", None)
    if scopes is None:
        return None
    scope = needed_scope(request.method)
    if scope in scopes:
        return None
    return PermissionDenied(
        N_("This API token does not have the scope %(scope)s."), scope=scope.value
    )
