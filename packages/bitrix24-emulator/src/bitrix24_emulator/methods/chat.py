"""Chat: ``im.message.add``/``im.dialog.messages.get`` (webhook mode) and the Open Lines
connector ``imconnector.*`` (app only), bitrix24.md §5."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bitrix24_emulator.errors import ApiError
from bitrix24_emulator.methods import Call, method


def _message(call: Call, dialog_id: str, text: str, author: int, **extra: Any) -> dict[str, Any]:
    message_id = call.portal.next_id("message", start=34000)
    message = {
        "id": message_id,
        "dialog_id": dialog_id,
        "author_id": author,
        "text": text,
        "date": call.portal.iso(call.now),
        **extra,
    }
    call.portal.messages.append(message)
    return message


@method("im.message.add", write=True)
def message_add(call: Call) -> Any:
    """Post to a chat (``chat123``), group (``sg12``) or user (``45``); the message id."""
    dialog = call.get("DIALOG_ID")
    if not dialog:
        raise ApiError("DIALOG_ID_EMPTY", "Dialog ID can't be empty")
    text = call.get("MESSAGE")
    if not text and not call.get("ATTACH"):
        raise ApiError("MESSAGE_EMPTY", "Message text can't be empty")
    dialog = str(dialog)
    if dialog.isdigit() and int(dialog) not in call.portal.users:
        raise ApiError("USER_NOT_FOUND", "User not found")
    return _message(call, dialog, str(text or ""), call.auth.user_id)["id"]


@method("im.chat.add", write=True)
def chat_add(call: Call) -> Any:
    """Create a group chat of the caller and ``USERS``; the chat id. The chat opens with a
    system message (author 0) saying who created it, as the messenger shows."""
    users = call.get("USERS") or []
    users = list(users.values()) if isinstance(users, Mapping) else users
    users = users if isinstance(users, list) else [users]
    for user in users:
        if not str(user).isdigit() or int(user) not in call.portal.users:
            raise ApiError("USER_NOT_FOUND", "User not found")
    chat_type = str(call.get("TYPE") or "CHAT").upper()
    if chat_type not in ("CHAT", "OPEN"):
        raise ApiError("WRONG_REQUEST", "Chat type is not correct")
    chat_id = call.portal.next_id("chat", start=100)
    creator = call.portal.users[call.auth.user_id]
    _message(
        call,
        f"chat{chat_id}",
        f'{creator["NAME"]} {creator["LAST_NAME"]} created a chat "{call.get("TITLE") or ""}"',
        0,
        system=True,
        members=sorted({call.auth.user_id, *(int(u) for u in users)}),
    )
    if call.get("MESSAGE"):
        _message(call, f"chat{chat_id}", str(call.get("MESSAGE")), call.auth.user_id)
    return chat_id


@method("im.dialog.messages.get")
def dialog_messages(call: Call) -> Any:
    """Messages of a dialog, newest first (``LIMIT`` ≤ 50, default 20)."""
    dialog = str(call.require("DIALOG_ID"))
    found = [m for m in reversed(call.portal.messages) if m["dialog_id"] == dialog]
    if call.get("FIRST_ID") is not None:
        found = [m for m in found if m["id"] > int(call.get("FIRST_ID"))]
    if call.get("LAST_ID") is not None:
        found = [m for m in found if m["id"] < int(call.get("LAST_ID"))]
    limit = min(int(call.get("LIMIT") or 20), 50)
    return {"chat_id": 0, "messages": found[:limit], "users": []}


def _connector_line(call: Call) -> tuple[str, str]:
    connector = call.get("CONNECTOR")
    line = call.get("LINE")
    for name, value in (("CONNECTOR", connector), ("LINE", line)):
        if not value:
            raise ApiError("ERROR_ARGUMENT", f"Argument '{name}' is null or empty")
    if str(connector).lower() not in call.portal.connectors:
        raise ApiError("ERROR_ARGUMENT", "Connector is not registered")
    return str(connector).lower(), str(line)


@method("imconnector.register", app_only=True, write=True)
def connector_register(call: Call) -> Any:
    """Register (or update) an Open Lines connector."""
    connector_id = str(call.get("ID") or "").lower().replace(".", "")
    if not connector_id or not call.get("NAME"):
        raise ApiError("ERROR_ARGUMENT", "Arguments 'ID' and 'NAME' are required")
    current = call.portal.connectors.setdefault(connector_id, {"lines": {}})
    current.update({"name": call.get("NAME"), "handler": call.get("PLACEMENT_HANDLER")})
    return True


@method("imconnector.activate", app_only=True, write=True)
def connector_activate(call: Call) -> Any:
    """Switch the connector on (``ACTIVE=1``) or off for a line."""
    connector, line = _connector_line(call)
    active = str(call.get("ACTIVE", "1")) in ("1", "Y", "true", "True")
    call.portal.connectors[connector]["lines"].setdefault(line, {})["active"] = active
    return True


@method("imconnector.connector.data.set", app_only=True, write=True)
def connector_data(call: Call) -> Any:
    """Store the connector's display data for a line."""
    connector, line = _connector_line(call)
    data = call.get("DATA")
    if not isinstance(data, Mapping):
        raise ApiError("ERROR_ARGUMENT", "Argument 'DATA' is null or empty")
    call.portal.connectors[connector]["lines"].setdefault(line, {})["data"] = dict(data)
    return True


@method("imconnector.send.messages", app_only=True, write=True)
def send_messages(call: Call) -> Any:
    """External messages into the line; each answers the Open Lines session and chat."""
    connector, line = _connector_line(call)
    if not call.portal.connectors[connector]["lines"].get(line, {}).get("active"):
        raise ApiError("NOT_ACTIVE_LINE", "The line is not active")
    messages = call.get("MESSAGES")
    if isinstance(messages, Mapping):
        messages = list(messages.values())
    if not messages:
        raise ApiError("ERROR_ARGUMENT", "Argument 'MESSAGES' is null or empty")
    results = []
    for entry in messages:
        chat_external = str(entry.get("chat", {}).get("id", ""))
        key = (connector, line, chat_external)
        session = call.portal.sessions.get(key)
        if session is None:
            session = call.portal.sessions[key] = {
                "ID": str(call.portal.next_id("ol-session", start=300)),
                "CHAT_ID": str(call.portal.next_id("ol-chat", start=1700)),
            }
        message = entry.get("message", {})
        _message(
            call,
            f"chat{session['CHAT_ID']}",
            str(message.get("text", "")),
            0,
            external_id=message.get("id"),
            external_chat=chat_external,
            external_user=entry.get("user", {}),
        )
        results.append({"SUCCESS": True, "session": dict(session)})
    return {"SUCCESS": True, "DATA": {"RESULT": results}}


@method("imconnector.send.status.delivery", app_only=True, write=True)
def send_status_delivery(call: Call) -> Any:
    """Confirm operator messages reached the client."""
    _connector_line(call)
    return {"SUCCESS": True, "DATA": []}
