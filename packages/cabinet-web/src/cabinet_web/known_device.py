"""The "known device" cookie: a browser that signed in before proves it when signing in again,
so a stranger's failed attempts on the account do not keep its owner waiting
(:mod:`cabinet_core.signin_throttle`).

The cookie carries a random id of the browser and the ids of the accounts that signed in on it,
signed with ``settings.secret_key`` (itsdangerous, as the session cookie): it cannot be forged or
moved to another account, and it is worth nothing without the account's password.
"""

from __future__ import annotations

import secrets
from typing import Any

from cabinet_core.signin_throttle import KnownDevice
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["DEVICE_COOKIE", "known_device", "remember_device"]

DEVICE_COOKIE = "cabinet_device"
DEVICE_COOKIE_AGE = 365 * 24 * 3600
#: Accounts remembered per browser (a shared office computer); the oldest are forgotten first.
MAX_ACCOUNTS = 10
_SALT = "cabinet.known-device"


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.cabinet.settings.secret_key, salt=_SALT)


def known_device(request: Request) -> KnownDevice | None:
    """The device the request's cookie vouches for, or ``None`` (no cookie, a forged or
    garbled one, one signed with another key)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data: Any = _serializer(request).loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    device, users = data.get("d"), data.get("u")
    if not isinstance(device, str) or not device or not isinstance(users, list):
        return None
    ids = frozenset(user for user in users if isinstance(user, int) and not isinstance(user, bool))
    return KnownDevice(device_id=device, user_ids=ids)


def remember_device(request: Request, response: Response, user_id: int) -> None:
    """After a successful sign-in: the browser keeps (or gets) its id and ``user_id`` joins its
    accounts."""
    current = known_device(request)
    device = current.device_id if current is not None else secrets.token_urlsafe(16)
    raw = request.cookies.get(DEVICE_COOKIE)
    order: list[int] = []
    if current is not None and raw:
        # The cookie's own order (oldest first) decides which account is forgotten first.
        stored = _serializer(request).loads(raw).get("u", [])
        order = [user for user in stored if user in current.user_ids and user != user_id]
    order = [*order, user_id][-MAX_ACCOUNTS:]
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer(request).dumps({"d": device, "u": order}),
        max_age=DEVICE_COOKIE_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.cabinet.settings.secure_cookies,
    )
