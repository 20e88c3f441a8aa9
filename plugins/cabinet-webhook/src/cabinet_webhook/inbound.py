"""Changes sent back to the cabinet: ``POST /hooks/webhook``, signed like the outbound calls.

The body is one of::

    {"document_id": 42, "status": "paid_out", "comment": "optional"}
    {"document_id": 42, "payment_status": "paid"}

with ``Webhook-Id``, ``Webhook-Timestamp`` and ``Webhook-Signature`` computed with the shared
secret (see :mod:`cabinet_webhook.signature`). A call that is unsigned or badly signed (401),
outside the five-minute window (401), already seen (409), or does not name a document and a
known state (404, 422) changes nothing and is answered with a problem document.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cabinet_core.entities import PaymentStatus
from cabinet_core.sync import InboundReply, InboundRequest

from cabinet_webhook import signature

if TYPE_CHECKING:
    from cabinet_core.entities import Document
    from cabinet_core.sync import SyncPort

#: Status and payment changes are a few hundred bytes; nothing legitimate comes near this.
MAX_BODY_BYTES = 16 * 1024
#: Where the ids of accepted calls are kept (``port.state``): id → its timestamp.
SEEN_STATE = "inbound.seen_ids"


class Refused(Exception):
    """A call that changes nothing: answered with ``status`` and a problem document."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail


def _change(body: bytes) -> tuple[int, str, str, str]:
    """``(document_id, field, value, comment)`` of a body, where ``field`` is ``status`` or
    ``payment_status``; :class:`Refused` (422) for anything else."""
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused(422, "The body is not JSON") from None
    if not isinstance(data, Mapping):
        raise Refused(422, "The body must be a JSON object")
    document_id = data.get("document_id")
    if isinstance(document_id, bool) or not isinstance(document_id, int) or document_id <= 0:
        raise Refused(422, "The call names no document", "document_id must be a positive integer")
    fields = [name for name in ("status", "payment_status") if name in data]
    if len(fields) != 1:
        raise Refused(422, "The call must change one thing", "send status or payment_status")
    field = fields[0]
    value = data[field]
    comment = data.get("comment", "")
    if not isinstance(value, str) or not value or not isinstance(comment, str):
        raise Refused(422, f"{field} must be a non-empty string")
    if field == "payment_status" and value not in set(PaymentStatus):
        known = ", ".join(status.value for status in PaymentStatus)
        raise Refused(422, "Unknown payment status", f"payment_status is one of {known}")
    return document_id, field, value, comment


class WebhookInbound:
    """The :class:`~cabinet_core.sync.InboundHandler` of the webhook backend."""

    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, key: bytes, *, tolerance: int = signature.TOLERANCE_SECONDS) -> None:
        self._key = key
        self._tolerance = tolerance
        # Checking and recording a call's id is one step, so a call sent twice at once is
        # applied once (in this process; applying a state twice is a no-op anyway).
        self._lock = threading.Lock()

    def handle(self, port: SyncPort, request: InboundRequest) -> InboundReply:
        """Verify the call, then apply its status or payment change through ``port``."""
        try:
            return self._handle(port, request)
        except Refused as refused:
            return InboundReply.problem(refused.status, refused.title, refused.detail)

    def _handle(self, port: SyncPort, request: InboundRequest) -> InboundReply:
        now = int(port.now().timestamp())
        try:
            call_id, timestamp = signature.verify(
                self._key, request.headers, request.body, now=now, tolerance=self._tolerance
            )
        except signature.Expired as exc:
            raise Refused(401, "The call has expired", str(exc)) from None
        except signature.SignatureError as exc:
            raise Refused(401, "The call is not signed with the shared secret", str(exc)) from None
        document_id, field, value, comment = _change(request.body)
        with self._lock:
            seen = self._seen(port, now)
            if call_id in seen:
                raise Refused(409, "The call was already received", f"Webhook-Id {call_id}")
            if port.document(document_id) is None:
                raise Refused(404, "No such document", f"document {document_id}")
            try:
                changed = self._apply(port, document_id, field, value, comment)
            except ValueError as exc:
                raise Refused(422, f"The document cannot take this {field}", str(exc)) from None
            seen[call_id] = timestamp
            port.set_state(SEEN_STATE, seen)
        return InboundReply.json(
            {"document_id": document_id, field: value, "changed": changed is not None}
        )

    def _seen(self, port: SyncPort, now: int) -> dict[str, int]:
        # An id older than the window can never pass the timestamp check again: forget it.
        stored = port.state(SEEN_STATE, {}) or {}
        horizon = now - self._tolerance
        return {str(key): int(stamp) for key, stamp in stored.items() if int(stamp) >= horizon}

    @staticmethod
    def _apply(
        port: SyncPort, document_id: int, field: str, value: str, comment: str
    ) -> Document | None:
        if field == "status":
            return port.apply_status(document_id, value, comment=comment)
        return port.apply_payment(document_id, PaymentStatus(value))
