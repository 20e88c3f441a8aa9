"""Installing the Bitrix24 app (app mode): the install callback's tokens confirmed with the
OAuth server and kept as the backend's secret state, then what the app gives bound on the
portal (events, placements, the Open Lines connector).

Both ways the portal installs reach this module: ``ONAPPINSTALL`` posted to the events
address (:class:`cabinet_bitrix.inbound.EventHandler`) and the local app's install page
(``POST /bitrix24/install``, :mod:`cabinet_bitrix.web`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from cabinet_bitrix import chat, news
from cabinet_bitrix.auth import (
    AuthError,
    PortalTokens,
    PortTokenStore,
    confirm_install,
    tokens_from_install,
)

if TYPE_CHECKING:
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.backend import BitrixBackend
    from cabinet_bitrix.client import BitrixClient

log = logging.getLogger("cabinet.bitrix.install")

#: Where the portal posts events (the web shell's ``/hooks/{backend}``).
HOOK_PATH = "/hooks/bitrix24"
#: Where staff open the app from the portal (:mod:`cabinet_bitrix.web`).
PLACEMENT_PATH = "/bitrix24/placement"
#: The events the install binds (app mode) to :data:`HOOK_PATH`.
BOUND_EVENTS = (
    "ONAPPUNINSTALL",
    "ONCRMQUOTEUPDATE",
    "ONCRMDYNAMICITEMUPDATE",
    *sorted(news.FEED_EVENTS),
)
#: Placements the install binds: the app's own page and the CRM cards of documents.
PLACEMENTS = ("DEFAULT", "CRM_QUOTE_DETAIL_TAB")
#: The page the portal shows once the app is installed.
INSTALLED_PAGE = b"<!DOCTYPE html><html><body><p>Panel Klienta: installed.</p></body></html>"


class InstallRefused(Exception):
    """The install callback is not accepted; ``status`` is the HTTP answer to give."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def accept_install(
    port: SyncPort,
    backend: BitrixBackend,
    form: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
) -> PortalTokens:
    """Confirm an install callback's tokens with the OAuth server and keep them (a secret of
    the backend's state); :class:`InstallRefused` when the cabinet is not set up for the app,
    the form is malformed, names another portal, or the server does not confirm it.

    ``transport`` reaches the OAuth server (default: the backend's, i.e. the network)."""
    settings = backend.settings
    if settings.mode != "app":
        raise InstallRefused(409, "the cabinet is not set up for a Bitrix24 app")
    try:
        tokens = tokens_from_install(form)
    except ValueError as exc:
        raise InstallRefused(400, str(exc)) from None
    if tokens.member_id != settings.member_id:
        raise InstallRefused(403, "another portal")
    chosen = transport if transport is not None else backend.transport
    with httpx.Client(transport=chosen, timeout=settings.timeout) as http:
        try:
            tokens = confirm_install(
                tokens,
                http,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                token_url=settings.token_url,
            )
        except (AuthError, httpx.HTTPError) as exc:
            log.warning("bitrix24 install refused: %s", exc)
            raise InstallRefused(403, "the install could not be confirmed") from None
    PortTokenStore(port).save(tokens)
    return tokens


def setup_app(backend: BitrixBackend, bitrix: BitrixClient, base_url: str) -> list[str]:
    """Bind what the app gives (events, placements, the Open Lines connector); repeating it
    is harmless. What was bound."""
    from cabinet_bitrix.client import BitrixError

    handler = f"{base_url}{HOOK_PATH}"
    done = []
    bound = {
        (str(b.get("event", "")).upper(), b.get("handler"))
        for b in bitrix.call("event.get") or []
        if isinstance(b, Mapping)
    }
    for event in BOUND_EVENTS:
        if (event, handler) not in bound:
            bitrix.call("event.bind", {"event": event, "handler": handler})
        done.append(event)
    placed = {
        (str(p.get("placement", "")).upper(), p.get("handler"))
        for p in bitrix.call("placement.get") or []
        if isinstance(p, Mapping)
    }
    # The smart processes documents are kept as get their card tab too (≥ 128: bitrix24.md §3.1).
    settings = backend.settings
    spa_types = {*settings.entity_types.values(), settings.default_entity_type}
    spa_tabs = sorted(f"CRM_DYNAMIC_{t}_DETAIL_TAB" for t in spa_types if t >= 128)
    for placement in (*PLACEMENTS, *spa_tabs):
        if (placement, f"{base_url}{PLACEMENT_PATH}") in placed:
            done.append(placement)
            continue
        try:
            bitrix.call(
                "placement.bind",
                {
                    "PLACEMENT": placement,
                    "HANDLER": f"{base_url}{PLACEMENT_PATH}",
                    "TITLE": "Panel Klienta",
                },
            )
            done.append(placement)
        except BitrixError as exc:
            log.warning("bitrix24: placement %s not bound: %s", placement, exc)
    chat.register_connector(bitrix, handler_url=handler, line=chat.open_line())
    done.append(f"imconnector:{chat.CONNECTOR_ID}")
    return done


def setup_after_install(backend: BitrixBackend, base_url: str) -> None:
    """:func:`setup_app` with the backend's client, after the install was answered; a
    failure is logged (installing again repeats it)."""
    try:
        bound = setup_app(backend, backend.client, base_url)
    except Exception:
        log.exception("bitrix24: binding events, placements or the connector failed")
        return
    log.info("bitrix24 app installed; bound %s", ", ".join(bound))
