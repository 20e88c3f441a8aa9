"""The REST methods the emulator answers, registered by name with :func:`method`.

A method is a function of a :class:`Call`; it returns the ``result`` (or a :class:`Listed`
for list methods, which adds ``total``/``next``) and raises :class:`ApiError` for error
envelopes. Importing this package registers every method module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from bitrix24_emulator.errors import ApiError

if TYPE_CHECKING:
    from bitrix24_emulator.core import Emulator
    from bitrix24_emulator.state import App, Portal


@attrs.define
class Auth:
    """Who calls: through a webhook (``kind="webhook"``) or an app's access token."""

    kind: str
    user_id: int
    credential: str
    app: App | None = None
    access_token: str | None = None


@attrs.frozen
class Listed:
    """A list method's answer: ``result`` plus the top-level ``total`` and ``next``."""

    result: Any
    total: int | None = None
    next: int | None = None


@attrs.define
class Call:
    """One method call: its parameters, caller, the portal, and the emulator's clock time."""

    emulator: Emulator
    portal: Portal
    params: Mapping[str, Any]
    auth: Auth
    now: float
    method: str = ""

    def get(self, name: str, default: Any = None) -> Any:
        """Parameter ``name`` (exact spelling first, then any letter case, as PHP code does)."""
        if name in self.params:
            return self.params[name]
        lowered = name.lower()
        for key, value in self.params.items():
            if key.lower() == lowered:
                return value
        return default

    def require(self, name: str) -> Any:
        """A required parameter; its absence is ``400 INVALID_ARG_VALUE``."""
        value = self.get(name)
        if value is None or value == "":
            raise ApiError("INVALID_ARG_VALUE", f"Required parameter '{name}' is missing")
        return value

    def integer(self, name: str, *, required: bool = True) -> int | None:
        """A parameter as an int (form bodies carry strings)."""
        value = self.require(name) if required else self.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError("INVALID_ARG_VALUE", f"Parameter '{name}' must be an integer") from None

    def fire(self, event: str, data: Mapping[str, Any]) -> None:
        """Queue ``event`` for every handler bound to it (delivered after the answer)."""
        self.emulator.queue_event(event, data, self.auth)


Handler = Callable[[Call], Any]


@attrs.frozen
class MethodSpec:
    """A registered method: its handler and how the portal treats it."""

    name: str
    handler: Handler
    app_only: bool = False
    write: bool = False
    batchable: bool = True


REGISTRY: dict[str, MethodSpec] = {}


def method(
    name: str, *, app_only: bool = False, write: bool = False, batchable: bool = True
) -> Callable[[Handler], Handler]:
    """Register a handler under ``name`` (matched case-insensitively). ``app_only`` methods
    refuse webhooks with ``403 WRONG_AUTH_TYPE``; ``write`` methods cost the configured
    write time."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name.lower()] = MethodSpec(name, handler, app_only, write, batchable)
        return handler

    return register


def _load() -> None:
    from bitrix24_emulator.methods import (  # noqa: F401 (registers on import)
        catalog,
        chat,
        crm_items,
        crm_legacy,
        feed,
        system,
    )


_load()
