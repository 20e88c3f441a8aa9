"""Chat: ``im.message.add``/``im.dialog.messages.get`` (webhook mode) and the Open Lines
connector ``imconnector.*`` (app only), bitrix24.md §5."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from bitrix24_emulator.errors import ApiError
from bitrix24_emulator.methods import Call, method


def _message(call: Call, dialog_id: str, text: str, author: int, **extra: Any) -> dict[str, Any]:
    message_id = call.portal.next_id("message", start=34000)
    message = {
        "id": message_id,
        "dialog_id": dialog_id,
        "chat": chat_of_dialog(call, dialog_id),
        "uuid": str(uuid.uuid4()) if author else None,
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


def chat_of_dialog(call: Call, dialog: str) -> int:
    """The chat id behind ``DIALOG_ID``: ``chat1489`` is chat 1489; a user's id names the
    private chat of the caller and that user, which gets its own chat id the first time."""
    if dialog.startswith("chat") and dialog[4:].isdigit():
        return int(dialog[4:])
    if dialog.isdigit() and int(dialog) in call.portal.users:
        pair = "private:" + ":".join(str(u) for u in sorted({call.auth.user_id, int(dialog)}))
        return _chat_for(call, pair)
    if dialog.lower().startswith("sg") and dialog[2:].isdigit():
        return _chat_for(call, f"group:{int(dialog[2:])}")
    raise ApiError("DIALOG_ID_EMPTY", "Dialog ID can't be empty")


def _chat_for(call: Call, key: str) -> int:
    chats = call.portal.private_chats
    if key not in chats:
        chats[key] = call.portal.next_id("chat", start=100)
    return chats[key]


def _cursor(call: Call, name: str, code: str, text: str) -> int | None:
    value = call.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(code, text) from None


def _dialog_user(call: Call, user_id: int) -> dict[str, Any]:
    user = call.portal.users[user_id]
    return {
        "id": user_id,
        "active": bool(user.get("ACTIVE", True)),
        "name": f"{user['NAME']} {user['LAST_NAME']}".strip(),
        "first_name": user["NAME"],
        "last_name": user["LAST_NAME"],
        "work_position": user.get("WORK_POSITION", ""),
        "color": "#4ba984",
        "avatar": "",
        "avatar_hr": "",
        "gender": "",
        "birthday": "",
        "extranet": False,
        "network": False,
        "bot": False,
        "connector": False,
        "external_auth_id": "default",
        "status": "online",
        "idle": False,
        "last_activity_date": False,
        "mobile_last_date": False,
        "desktop_last_date": False,
        "absent": False,
        "departments": list(user.get("UF_DEPARTMENT", [])),
        "phones": False,
        "bot_data": None,
        "type": "user",
        "website": "",
        "email": user.get("EMAIL", ""),
    }


def _public_message(message: Mapping[str, Any], chat_id: int) -> dict[str, Any]:
    return {
        "id": message["id"],
        "chat_id": chat_id,
        "author_id": message["author_id"],
        "date": message["date"],
        "text": message["text"],
        "unread": False,
        "uuid": message.get("uuid"),
        "replaces": [],
        "params": message.get("params") or [],
        "disappearing_date": None,
    }


@method("im.dialog.messages.get")
def dialog_messages(call: Call) -> Any:
    """Messages of a dialog, newest first (``LIMIT`` ≤ 50, default 20), in the documented
    shape: the dialog's ``chat_id``, ``messages``, the authors as ``users``, ``files``
    (im-dialog-messages-get.md)."""
    dialog = str(call.get("DIALOG_ID") or "")
    if not dialog:
        raise ApiError("DIALOG_ID_EMPTY", "Dialog ID can't be empty")
    chat_id = chat_of_dialog(call, dialog)
    first = _cursor(call, "FIRST_ID", "FIRST_ID_STRING", "First ID can't be string")
    last = _cursor(call, "LAST_ID", "LAST_ID_STRING", "Last ID can't be string")
    found = [m for m in reversed(call.portal.messages) if m["chat"] == chat_id]
    if first is not None:
        found = [m for m in found if m["id"] > first]
    if last is not None:
        found = [m for m in found if m["id"] < last]
    try:
        limit = int(call.get("LIMIT") or 20)
    except (TypeError, ValueError):
        limit = 20
    page = found[: min(max(limit, 1), 50)]
    authors = sorted({m["author_id"] for m in page if m["author_id"] in call.portal.users})
    return {
        "chat_id": chat_id,
        "messages": [_public_message(m, chat_id) for m in page],
        "users": [_dialog_user(call, user_id) for user_id in authors],
        "files": [],
    }


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
