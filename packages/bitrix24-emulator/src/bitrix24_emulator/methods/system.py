"""Users, the app, events and placements: ``user.current``, ``user.get``, ``profile``,
``app.info``, ``app.option.*``, ``event.*``, ``placement.*``, ``scope``, ``methods``
(bitrix24.md §6, §7)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from bitrix24_emulator import fields as F
from bitrix24_emulator.errors import ApiError
from bitrix24_emulator.methods import REGISTRY, Call, Listed, method
from bitrix24_emulator.state import Binding

#: Events a handler may bind to (``event.bind`` answers ``ERROR_EVENT_NOT_FOUND`` otherwise).
EVENTS = frozenset(
    {
        *(
            f"ONCRM{kind}{action}"
            for kind in ("QUOTE", "COMPANY", "CONTACT", "DYNAMICITEM", "REQUISITE")
            for action in ("ADD", "UPDATE", "DELETE")
        ),
        "CATALOG.PRODUCT.ON.ADD",
        "CATALOG.PRODUCT.ON.UPDATE",
        "CATALOG.PRODUCT.ON.DELETE",
        "ONLIVEFEEDPOSTADD",
        "ONLIVEFEEDPOSTUPDATE",
        "ONLIVEFEEDPOSTDELETE",
        "ONIMCONNECTORMESSAGEADD",
        "ONIMCONNECTORMESSAGEUPDATE",
        "ONIMCONNECTORMESSAGEDELETE",
        "ONAPPINSTALL",
        "ONAPPUNINSTALL",
        "ONIMMESSAGEADD",
    }
)


def known_event(name: str) -> bool:
    """Whether ``name`` (any case) can be bound, per-type dynamic variants included."""
    upper = name.upper()
    if upper in EVENTS:
        return True
    head, _, tail = upper.rpartition("_")
    return head.startswith("ONCRMDYNAMICITEM") and head in EVENTS and tail.isdigit()


def _user(call: Call, user_id: int) -> dict[str, Any]:
    return call.portal.users[user_id]


@method("user.current")
def user_current(call: Call) -> Any:
    """The caller (the webhook's creator or the token's user)."""
    return _user(call, call.auth.user_id)


@method("profile")
def profile(call: Call) -> Any:
    """The caller's basic profile."""
    user = _user(call, call.auth.user_id)
    return {
        "ID": user["ID"],
        "ADMIN": user["ADMIN"],
        "NAME": user["NAME"],
        "LAST_NAME": user["LAST_NAME"],
        "PERSONAL_GENDER": "",
        "TIME_ZONE": user["TIME_ZONE"],
    }


@method("user.get")
def user_get(call: Call) -> Any:
    """Users matching ``FILTER`` (or ``ID``), 50 a page."""
    filter_ = dict(call.get("FILTER") or call.get("filter") or {})
    if call.get("ID") is not None:
        filter_["ID"] = call.get("ID")
    test = F.matcher(filter_, lambda name: True)
    rows = [u for u in call.portal.users.values() if test(u)]
    chunk, total, following = F.page(rows, F.start_of(call.params))
    return Listed(chunk, total, following)


@method("app.info")
def app_info(call: Call) -> Any:
    """The calling app (webhooks get the portal's licence data only)."""
    app = call.auth.app
    return {
        "ID": 1 if app else None,
        "CODE": app.client_id if app else None,
        "VERSION": 1,
        "STATUS": "L",
        "INSTALLED": bool(app),
        "PAYMENT_EXPIRED": "N",
        "DAYS": None,
        "LANGUAGE_ID": "pl",
        "LICENSE": "pl_project",
        "LICENSE_TYPE": "project",
        "LICENSE_FAMILY": "project",
        "member_id": call.portal.member_id,
    }


@method("scope")
def scope(call: Call) -> Any:
    """Scopes the caller has."""
    app = call.auth.app
    return (app.scope if app else "crm,catalog,user,im,log,sonet_group").split(",")


@method("methods")
def methods(call: Call) -> Any:
    """Every method the emulator answers."""
    return sorted(spec.name for spec in REGISTRY.values())


@method("app.option.set", app_only=True, write=True)
def option_set(call: Call) -> Any:
    """Store app options."""
    options = call.require("options")
    if not isinstance(options, Mapping):
        raise ApiError("ERROR_ARGUMENT", "Argument 'options' must be an object", argument="options")
    call.portal.options.update(options)
    return True


@method("app.option.get", app_only=True)
def option_get(call: Call) -> Any:
    """One option or all of them."""
    name = call.get("option")
    return call.portal.options.get(name) if name else dict(call.portal.options)


@method("event.bind", app_only=True, write=True)
def event_bind(call: Call) -> Any:
    """Subscribe ``handler`` to ``event`` for the calling app."""
    event = str(call.require("event")).upper()
    handler = str(call.require("handler"))
    if not known_event(event):
        raise ApiError("ERROR_EVENT_NOT_FOUND", "Event not found")
    offline = str(call.get("event_type", "online")).lower() == "offline"
    if offline and not call.portal.users[call.auth.user_id]["ADMIN"]:
        raise ApiError("ACCESS_DENIED", "Offline events need an administrator", status=403)
    assert call.auth.app is not None
    client_id = call.auth.app.client_id
    for binding in call.portal.bindings:
        same = (binding.event, binding.handler, binding.client_id, binding.offline)
        if same == (event, handler, client_id, offline):
            raise ApiError("ERROR_EVENT_ALREADY_BINDED", "Handler already binded")
    call.portal.bindings.append(
        Binding(
            call.portal.next_id("binding"),
            event,
            handler,
            client_id,
            int(call.get("auth_type") or 0),
            offline,
            application_token=call.auth.app.application_token,
        )
    )
    return True


@method("event.get", app_only=True)
def event_get(call: Call) -> Any:
    """The calling app's subscriptions."""
    assert call.auth.app is not None
    return [
        {
            "event": b.event,
            "handler": b.handler,
            "auth_type": str(b.auth_type),
            "offline": int(b.offline),
        }
        for b in call.portal.bindings
        if b.client_id == call.auth.app.client_id
    ]


@method("event.unbind", app_only=True, write=True)
def event_unbind(call: Call) -> Any:
    """``{"count": n}`` subscriptions removed."""
    event = str(call.require("event")).upper()
    handler = call.get("handler")
    assert call.auth.app is not None
    keep = [
        b
        for b in call.portal.bindings
        if not (
            b.client_id == call.auth.app.client_id
            and b.event == event
            and (handler is None or b.handler == handler)
        )
    ]
    count = len(call.portal.bindings) - len(keep)
    call.portal.bindings[:] = keep
    return {"count": count}


@method("events", app_only=True)
def events(call: Call) -> Any:
    """Events the app may bind to."""
    return {name: name for name in sorted(EVENTS)}


@method("placement.bind", app_only=True, write=True)
def placement_bind(call: Call) -> Any:
    """Add a widget; a missing ``PLACEMENT`` is an error answered with HTTP 200 (documented)."""
    for argument in ("PLACEMENT", "HANDLER"):
        if not call.get(argument):
            raise ApiError(
                "ERROR_ARGUMENT",
                f"Argument '{argument}' is null or empty",
                status=200,
                argument=argument,
            )
    call.portal.placements.append(
        {
            "placement": str(call.get("PLACEMENT")).upper(),
            "handler": call.get("HANDLER"),
            "title": call.get("TITLE") or "",
            "description": call.get("DESCRIPTION") or "",
            "options": call.get("OPTIONS") or [],
        }
    )
    return True


@method("placement.get", app_only=True)
def placement_get(call: Call) -> Any:
    """The app's placements."""
    return list(call.portal.placements)


@method("placement.unbind", app_only=True, write=True)
def placement_unbind(call: Call) -> Any:
    """``{"count": n}`` placements removed."""
    name = str(call.require("PLACEMENT")).upper()
    handler = call.get("HANDLER")
    keep = [
        p
        for p in call.portal.placements
        if not (p["placement"] == name and (handler is None or p["handler"] == handler))
    ]
    count = len(call.portal.placements) - len(keep)
    call.portal.placements[:] = keep
    return {"count": count}


def _offline_public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if not k.startswith("_")}


@method("event.offline.get", app_only=True, write=True)
def offline_get(call: Call) -> Any:
    """Take up to ``limit`` (50) queued offline events; ``clear=1`` (default) removes them,
    ``clear=0`` reserves them for the returned ``process_id`` until ``event.offline.clear``."""
    limit = int(call.get("limit") or 50)
    clear = str(call.get("clear", "1")) not in ("0", "false", "N")
    test = F.matcher(call.get("filter"), lambda name: True)
    queue = call.portal.offline_events
    taken = [e for e in queue if e["_process"] is None and test(e)][:limit]
    process_id = None
    if clear:
        queue[:] = [e for e in queue if e not in taken]
    elif taken:
        process_id = secrets.token_hex(8)
        for event in taken:
            event["_process"] = process_id
    return {"process_id": process_id, "events": [_offline_public(e) for e in taken]}


@method("event.offline.clear", app_only=True, write=True)
def offline_clear(call: Call) -> Any:
    """Remove the events reserved by ``process_id`` (optionally only ``id`` ones)."""
    process_id = call.require("process_id")
    ids = call.get("id")
    ids = {str(i) for i in (ids if isinstance(ids, list) else [ids])} if ids else None
    queue = call.portal.offline_events
    keep = [
        e for e in queue if not (e["_process"] == process_id and (ids is None or e["ID"] in ids))
    ]
    removed = len(queue) - len(keep)
    queue[:] = keep
    return {"count": removed} if removed else True


@method("event.offline.list", app_only=True)
def offline_list(call: Call) -> Any:
    """Queued offline events without taking them."""
    return [_offline_public(e) for e in call.portal.offline_events]
