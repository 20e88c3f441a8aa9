"""The chat bridge: a client's conversation in the cabinet and its manager in Bitrix24.

Two ways, by how the portal is reached (bitrix24.md §5):

* **App** (recommended): the cabinet is an Open Lines channel, a *connector*
  (``imconnector.register`` at install, ``imconnector.activate`` and
  ``imconnector.connector.data.set`` for the line ``CABINET_BITRIX_OPENLINE``). A client's
  message goes in with ``imconnector.send.messages`` (the Open Lines chat ``client-<id>``), and
  the operator's answer comes back as the ``ONIMCONNECTORMESSAGEADD`` event
  (:func:`handle_connector_event`), confirmed with ``imconnector.send.status.delivery``.
* **Webhook**: a webhook cannot run a connector nor receive events, so each client gets a
  group chat with its manager (``im.chat.add``; the manager found by e-mail with ``user.get``),
  messages go in with ``im.message.add`` and answers are read by polling
  ``im.dialog.messages.get`` (:func:`poll_replies`, from the worker's periodic tasks). The
  chat's id and the last message read are kept in the backend's state,
  ``chat.client.<client id>``.

Each message crosses once: messages coming from Bitrix24 are saved with ``external_id``
``b24:msg:<id>`` through the port's ``receive_chat``, which is idempotent and writes no outbox
row, so they are never pushed back; :func:`push_message` (called by the backend for
``chat.message_posted``) also refuses any message that has an external id.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cabinet_core.entities import Client, Role

from cabinet_bitrix.news import plain_text

if TYPE_CHECKING:
    from cabinet_core.sync import SyncPort, UserInfo

    from cabinet_bitrix.client import BitrixClient

log = logging.getLogger("cabinet.bitrix.chat")

#: The Open Lines connector's id (lower case, no dots, as the portal keeps it).
CONNECTOR_ID = "cabinet_chat"
#: The environment variable naming the Open Lines line the connector serves.
OPENLINE_ENV = "CABINET_BITRIX_OPENLINE"
#: ``external_id`` prefix of chat messages written in Bitrix24.
EXTERNAL_PREFIX = "b24:msg:"
#: The state key prefix of a client's webhook-mode chat (``<client id>`` appended).
DIALOG_KEY = "chat.client."
#: The state key prefix of the messages already posted to a client's chat (cabinet id →
#: Bitrix24 id), so a retried delivery never posts twice.
SENT_KEY = "chat.sent."
#: The external chat id of a client in Open Lines.
CHAT_PREFIX = "client-"
#: ``im.dialog.messages.get`` answers at most 50 messages (bitrix24.md §2.3).
PAGE = 50
#: How many sent message ids a client's webhook-mode chat remembers (against resending).
SENT_KEPT = 200
#: Open Lines accepts names of at most 25 letters, spaces, hyphens and apostrophes.
_NAME_CHARS = re.compile(r"[^\w\s'-]|\d|_", re.UNICODE)
_WEBHOOK_USER = re.compile(r"/rest/(\d+)/[^/]+/?$")


def open_line(environ: Mapping[str, str] | None = None) -> str:
    """The Open Lines line id the connector is activated on (``1`` unless configured)."""
    value = (os.environ if environ is None else environ).get(OPENLINE_ENV, "").strip() or "1"
    if not value.isdigit():
        raise ValueError(f"{OPENLINE_ENV} must be the id of an Open Lines line, not {value!r}")
    return value


def _client_of(backend: Any) -> BitrixClient:
    from cabinet_bitrix.client import BitrixClient

    client = getattr(backend, "client", backend)
    if not isinstance(client, BitrixClient):
        raise TypeError(f"the chat bridge needs a BitrixBackend or BitrixClient, not {backend!r}")
    return client


def _connector_name(value: str) -> str:
    cleaned = " ".join(_NAME_CHARS.sub(" ", value).split())
    return cleaned[:25].strip() or "Client"


def _field(message: Any, name: str) -> Any:
    if isinstance(message, Mapping):
        return message.get(name)
    return getattr(message, name, None)


def _author(port: SyncPort, user_id: int | None) -> UserInfo | None:
    return None if user_id is None else port.user(user_id)


def _chat_url(port: SyncPort, client_id: int) -> str:
    return f"{port.base_url}/chat?client_id={client_id}"


# --- cabinet → Bitrix24 -------------------------------------------------------------------


def push_message(port: SyncPort, backend: Any, message: Any) -> str:
    """Send one cabinet message (a :class:`~cabinet_core.entities.ChatMessage` or its outbox
    payload) to Bitrix24; what happened. Messages that came from Bitrix24 are skipped."""
    if _field(message, "external_id"):
        return "skipped: came from Bitrix24"
    client_id = int(_field(message, "client_id"))
    client = port.client(client_id)
    if client is None:
        return "skipped: the client no longer exists"
    author = _author(port, _field(message, "author_id"))
    text = str(_field(message, "body") or "")
    bitrix = _client_of(backend)
    if bitrix.auth.mode == "app":
        return _send_to_open_line(port, bitrix, client, author, message, text)
    return _send_to_group_chat(port, bitrix, client, author, text, _field(message, "id"))


def _send_to_open_line(
    port: SyncPort,
    bitrix: BitrixClient,
    client: Client,
    author: UserInfo | None,
    message: Any,
    text: str,
) -> str:
    assert client.id is not None
    if author is not None and author.role is not Role.CLIENT:
        # A manager who answered in the cabinet: the operators see who said it.
        text = f"[b]{author.name or author.email} ({client.name}):[/b] {text}"
    name = author.name if author is not None and author.role is Role.CLIENT else client.name
    first, _, last = _connector_name(name).partition(" ")
    created = _field(message, "created_at")
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    chat_url = _chat_url(port, client.id)
    user: dict[str, Any] = {"id": f"{CHAT_PREFIX}{client.id}", "name": first}
    if last:
        user["last_name"] = _connector_name(last)
    if client.email:
        user["email"] = client.email
    key = str(_field(message, "id"))
    sent = _sent(port, client.id)
    if key in sent:
        return "already in Open Lines"
    payload = {
        "CONNECTOR": CONNECTOR_ID,
        "LINE": open_line(),
        "MESSAGES": [
            {
                "user": user,
                "message": {
                    "id": f"cabinet-msg-{_field(message, 'id')}",
                    "date": int(created.timestamp()) if isinstance(created, datetime) else 0,
                    "text": text,
                },
                "chat": {"id": f"{CHAT_PREFIX}{client.id}", "url": chat_url},
            }
        ],
    }
    from cabinet_bitrix.client import BitrixError

    dialog = _dialog(port, client.id) or {}
    try:
        result = bitrix.call("imconnector.send.messages", payload, repeatable=False)
    except BitrixError as exc:
        # After a lost answer, look in the line's chat (known from an earlier message) before
        # the worker sends it again; the very first message of a client has no chat to look in.
        chat = dialog.get("dialog")
        lookup = chat is not None and exc.transient and not exc.unsent
        if not lookup or _posted(bitrix, str(chat), text, author=None) is None:
            raise
        _remember_sent(port, client.id, sent, key, 0)
        return "already in Open Lines"
    _remember_sent(port, client.id, sent, key, 0)
    session = _session_of(result)
    if session and dialog.get("dialog") != f"chat{session}":
        _save_dialog(port, client.id, {**dialog, "dialog": f"chat{session}", "openline": True})
    return "sent to Open Lines"


def _session_of(result: Any) -> str | None:
    """The Open Lines chat id in an ``imconnector.send.messages`` answer."""
    try:
        return str(result["DATA"]["RESULT"][0]["session"]["CHAT_ID"]) or None
    except (KeyError, IndexError, TypeError):
        return None


def _remember_sent(
    port: SyncPort, client_id: int, sent: dict[str, int], key: str, bitrix_id: int
) -> None:
    sent = {**sent, key: bitrix_id}
    # The newest ids are enough: a retry comes within the worker's retry window.
    numeric = sorted(sent, key=lambda k: int(k) if k.isdigit() else 0)
    recent = {k: sent[k] for k in numeric[-SENT_KEPT:]}
    port.set_state(SENT_KEY + str(client_id), recent)


def webhook_user_id(bitrix: BitrixClient) -> int | None:
    """The portal user a webhook runs as (``/rest/<user id>/<code>/``)."""
    match = _WEBHOOK_USER.search(bitrix.webhook_url or "")
    return int(match.group(1)) if match else None


def bitrix_user_by_email(bitrix: BitrixClient, email: str) -> int | None:
    """The id of the active portal user with ``email``, if any."""
    if not email:
        return None
    rows = bitrix.call("user.get", {"FILTER": {"EMAIL": email, "ACTIVE": True}})
    for row in rows if isinstance(rows, list) else []:
        if str(row.get("EMAIL", "")).lower() == email.lower():
            return int(row["ID"])
    return None


def _dialog(port: SyncPort, client_id: int) -> dict[str, Any] | None:
    value = port.state(DIALOG_KEY + str(client_id))
    return dict(value) if isinstance(value, Mapping) else None


def _sent(port: SyncPort, client_id: int) -> dict[str, int]:
    value = port.state(SENT_KEY + str(client_id))
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _save_dialog(port: SyncPort, client_id: int, dialog: Mapping[str, Any]) -> None:
    port.set_state(DIALOG_KEY + str(client_id), dict(dialog))


def ensure_group_chat(port: SyncPort, bitrix: BitrixClient, client: Client) -> dict[str, Any]:
    """The client's chat with its manager in Bitrix24 (``im.chat.add`` the first time)."""
    assert client.id is not None
    dialog = _dialog(port, client.id)
    if dialog is not None:
        return dialog
    manager = _author(port, client.manager_id)
    members = []
    manager_b24 = bitrix_user_by_email(bitrix, manager.email) if manager is not None else None
    if manager_b24 is not None:
        members.append(manager_b24)
    else:
        # The chat is still made (nothing is lost), but only the webhook's user sees it.
        log.warning(
            "bitrix24 chat: client %s has no manager with a Bitrix24 account of the same "
            "e-mail; its chat has no manager in it",
            client.id,
        )
    chat_id = bitrix.call(
        "im.chat.add",
        {
            "TYPE": "CHAT",
            "TITLE": f"Panel Klienta: {client.name}"[:100],
            "DESCRIPTION": _chat_url(port, client.id),
            "USERS": members,
            "ENTITY_TYPE": "CABINET_CLIENT",
            "ENTITY_ID": str(client.id),
        },
        # A second chat is harmless next to a lost first message; never retried blindly.
        repeatable=False,
    )
    dialog = {"dialog": f"chat{int(chat_id)}", "last_id": 0, "manager": manager_b24}
    _save_dialog(port, client.id, dialog)
    return dialog


def _send_to_group_chat(
    port: SyncPort,
    bitrix: BitrixClient,
    client: Client,
    author: UserInfo | None,
    text: str,
    cabinet_id: Any,
) -> str:
    from cabinet_bitrix.client import BitrixError

    assert client.id is not None
    dialog = ensure_group_chat(port, bitrix, client)
    sent = _sent(port, client.id)
    key = str(cabinet_id)
    if key in sent:
        # Delivered before, but the worker never heard it (killed, or its report was lost).
        return f"already in {dialog['dialog']} as message {sent[key]}"
    who = (author.name or author.email) if author is not None else client.name
    posted = f"[b]{who}:[/b] {text}"
    try:
        message_id = int(
            bitrix.call(
                "im.message.add",
                {"DIALOG_ID": dialog["dialog"], "MESSAGE": posted, "SYSTEM": "N"},
                repeatable=False,
            )
        )
    except BitrixError as exc:
        # A timeout or a 5xx may come after the portal posted it: look before sending again.
        found = None
        if exc.transient and not exc.unsent:
            found = _posted(bitrix, dialog["dialog"], posted, author=webhook_user_id(bitrix))
        if found is None:
            raise
        message_id = found
    _remember_sent(port, client.id, sent, key, message_id)
    return f"sent to {dialog['dialog']} as message {message_id}"


def _posted(bitrix: BitrixClient, dialog: str, text: str, *, author: int | None) -> int | None:
    """The id of a message with exactly ``text`` (by ``author`` when given) among the
    dialog's latest ones, if any."""
    result = bitrix.call("im.dialog.messages.get", {"DIALOG_ID": dialog, "LIMIT": PAGE})
    rows = result.get("messages", []) if isinstance(result, Mapping) else []
    for row in rows:
        if author is not None and int(row.get("author_id") or 0) != author:
            continue
        if str(row.get("text")) == text:
            return int(row["id"])
    return None


# --- Bitrix24 → cabinet -------------------------------------------------------------------


class _StaffByBitrixUser:
    """Maps portal user ids to the cabinet's staff users by e-mail (cached for one run)."""

    def __init__(self, port: SyncPort, bitrix: BitrixClient) -> None:
        self.port = port
        self.bitrix = bitrix
        self.cache: dict[int, int | None] = {}

    def __call__(self, bitrix_user_id: int) -> int | None:
        from cabinet_bitrix.client import BitrixError

        if bitrix_user_id not in self.cache:
            try:
                self.cache[bitrix_user_id] = self._lookup(bitrix_user_id)
            except BitrixError as exc:
                # The answer matters more than its author: keep it as the firm's.
                log.warning("bitrix24 chat: user %s not looked up: %s", bitrix_user_id, exc)
                return None
        return self.cache[bitrix_user_id]

    def _lookup(self, bitrix_user_id: int) -> int | None:
        if bitrix_user_id <= 0:
            return None
        rows = self.bitrix.call("user.get", {"ID": bitrix_user_id})
        email = str(rows[0].get("EMAIL", "")) if isinstance(rows, list) and rows else ""
        user = self.port.user_by_email(email) if email else None
        return user.id if user is not None and user.role.is_staff and user.active else None


def _answer_text(text: str) -> str:
    # Open Lines prefixes operator messages with "[b]Name:[/b] [br]"; the cabinet shows the
    # author itself, so the prefix would only repeat it.
    body = plain_text(text)
    head, sep, rest = body.partition("\n")
    if sep and head.endswith(":") and rest.strip():
        return rest.strip()
    return body


def _client_id_of_chat(external_chat: str) -> int | None:
    if external_chat.startswith(CHAT_PREFIX) and external_chat[len(CHAT_PREFIX) :].isdigit():
        return int(external_chat[len(CHAT_PREFIX) :])
    return None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        # Form-encoded arrays arrive as {"0": …, "1": …}.
        keys = sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0)
        return [value[key] for key in keys]
    return list(value) if isinstance(value, list) else []


def handle_connector_event(port: SyncPort, backend: Any, data: Mapping[str, Any]) -> str:
    """``ONIMCONNECTORMESSAGEADD``: operators' answers (``data``, the event's ``data`` block)
    become messages of the clients' conversations, then delivery is confirmed."""
    bitrix = _client_of(backend)
    if str(data.get("CONNECTOR", "")).lower() != CONNECTOR_ID:
        return "ignored: another connector"
    staff = _StaffByBitrixUser(port, bitrix)
    saved = 0
    confirmations = []
    for entry in _as_list(data.get("MESSAGES")):
        if not isinstance(entry, Mapping):
            continue
        chat = entry.get("chat") or {}
        im = entry.get("im") or {}
        message = entry.get("message") or {}
        client_id = _client_id_of_chat(str(chat.get("id", "")))
        message_id = str(im.get("message_id", ""))
        text = _answer_text(str(message.get("text", "")))
        if client_id is None or not message_id.isdigit() or not text:
            continue
        author = staff(int(str(message.get("user_id") or 0) or 0))
        if port.client(client_id) is None:
            continue
        _, created = port.receive_chat(
            client_id, text, external_id=f"{EXTERNAL_PREFIX}{message_id}", author_id=author
        )
        saved += int(created)
        confirmations.append(
            {
                "im": {"chat_id": im.get("chat_id"), "message_id": im.get("message_id")},
                "message": {"id": [f"{EXTERNAL_PREFIX}{message_id}"]},
                "chat": {"id": str(chat.get("id"))},
            }
        )
    if confirmations:
        from cabinet_bitrix.client import BitrixError

        try:
            bitrix.call(
                "imconnector.send.status.delivery",
                {
                    "CONNECTOR": CONNECTOR_ID,
                    "LINE": str(data.get("LINE") or open_line()),
                    "MESSAGES": confirmations,
                },
            )
        except BitrixError as exc:
            # The messages are saved; only the operator's "delivered" tick is missing.
            log.warning("bitrix24 chat: delivery not confirmed: %s", exc)
    return f"chat: {saved} new message(s)"


def _dialog_messages(
    bitrix: BitrixClient, dialog: str, after_id: int
) -> Iterable[Mapping[str, Any]]:
    """Messages of ``dialog`` newer than ``after_id``, oldest first."""
    found: dict[int, Mapping[str, Any]] = {}
    params: dict[str, Any] = {"DIALOG_ID": dialog, "FIRST_ID": after_id, "LIMIT": PAGE}
    while True:
        result = bitrix.call("im.dialog.messages.get", params)
        rows = result.get("messages", []) if isinstance(result, Mapping) else []
        fresh = [row for row in rows if int(row["id"]) > after_id and int(row["id"]) not in found]
        found.update((int(row["id"]), row) for row in fresh)
        if len(rows) < PAGE or not fresh:
            return [found[key] for key in sorted(found)]
        # A full page holds the newest messages; read the older ones below it.
        params = {**params, "LAST_ID": min(int(row["id"]) for row in fresh)}


def poll_replies(port: SyncPort, backend: Any) -> int:
    """Webhook mode: read new messages of every client's chat; how many were saved. Messages
    the webhook's own user wrote (the cabinet's side) and system messages are skipped."""
    bitrix = _client_of(backend)
    if bitrix.auth.mode == "app":
        return 0
    own = webhook_user_id(bitrix)
    staff = _StaffByBitrixUser(port, bitrix)
    saved = 0
    for client in port.clients():
        assert client.id is not None
        dialog = _dialog(port, client.id)
        if dialog is None:
            continue
        last_id = int(dialog.get("last_id") or 0)
        for row in _dialog_messages(bitrix, str(dialog["dialog"]), last_id):
            author = int(row.get("author_id") or 0)
            text = _answer_text(str(row.get("text") or ""))
            if author not in (0, own) and text:
                _, created = port.receive_chat(
                    client.id,
                    text,
                    external_id=f"{EXTERNAL_PREFIX}{row['id']}",
                    author_id=staff(author),
                )
                saved += int(created)
            last_id = max(last_id, int(row["id"]))
        if last_id != int(dialog.get("last_id") or 0):
            _save_dialog(port, client.id, {**dialog, "last_id": last_id})
    return saved


# --- set-up (app mode) --------------------------------------------------------------------


def register_connector(bitrix: BitrixClient, *, handler_url: str, line: str) -> None:
    """Make the cabinet an Open Lines channel on the portal and switch it on for ``line``:
    ``imconnector.register``, ``event.bind`` of ``OnImConnectorMessageAdd`` to ``handler_url``,
    ``imconnector.activate`` and ``imconnector.connector.data.set``. Safe to repeat (a
    re-registration updates; an existing binding is kept)."""
    from cabinet_bitrix.client import BitrixError

    icon = (
        "data:image/svg+xml;charset=US-ASCII,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000"
        "%2Fsvg%22%20viewBox%3D%220%200%2070%2071%22%3E%3Crect%20width%3D%2270%22%20height%3D"
        "%2271%22%20rx%3D%2212%22%20fill%3D%22%231e5a96%22%2F%3E%3C%2Fsvg%3E"
    )
    bitrix.call(
        "imconnector.register",
        {
            "ID": CONNECTOR_ID,
            "NAME": "Panel Klienta",
            "ICON": {"DATA_IMAGE": icon, "COLOR": "#1e5a96", "SIZE": "100%", "POSITION": "center"},
            "PLACEMENT_HANDLER": handler_url,
            "CHAT_GROUP": "N",
        },
    )
    try:
        bitrix.call("event.bind", {"event": "OnImConnectorMessageAdd", "handler": handler_url})
    except BitrixError as exc:
        if exc.code != "ERROR_EVENT_ALREADY_BINDED":
            raise
    bitrix.call("imconnector.activate", {"CONNECTOR": CONNECTOR_ID, "LINE": line, "ACTIVE": 1})
    bitrix.call(
        "imconnector.connector.data.set",
        {
            "CONNECTOR": CONNECTOR_ID,
            "LINE": line,
            "DATA": {
                "ID": f"{CONNECTOR_ID}_line_{line}",
                "URL_IM": handler_url.split("/hooks/")[0] + "/chat",
                "NAME": "Panel Klienta",
            },
        },
    )
