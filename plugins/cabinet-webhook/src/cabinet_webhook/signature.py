"""Signing and verifying calls the Standard Webhooks way (https://www.standardwebhooks.com/).

Each call carries three headers:

* ``Webhook-Id``: the message's id, the same on every retry (a receiver's idempotency key);
* ``Webhook-Timestamp``: when this attempt was signed, in Unix seconds;
* ``Webhook-Signature``: ``v1,`` and the base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``.

The id is signed together with the timestamp and the raw body, so a captured call cannot be
replayed under a fresh id to slip past a receiver's list of seen ids. A secret written
``whsec_<base64>`` (the Standard Webhooks form) is base64-decoded into the HMAC key; any other
secret is used as its UTF-8 bytes, so a receiver's ``crypto.createHmac('sha256', secret)`` works.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of a secret, not a secret)
#: How far a call's timestamp may be from the receiver's clock, either way (seconds).
TOLERANCE_SECONDS = 5 * 60


class SignatureError(Exception):
    """A call is not proven to come from the holder of the secret."""


class MissingHeaders(SignatureError):
    """One of the three signature headers is absent."""


class Expired(SignatureError):
    """The call's timestamp is outside the tolerance window (too old, or from the future)."""


class BadSignature(SignatureError):
    """No signature in the header matches the body."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of ``secret`` (see the module docstring); :class:`ValueError` for an empty
    secret or a ``whsec_`` one that is not base64."""
    if not secret:
        raise ValueError("the webhook secret is empty")
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error:
            raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    return secret.encode()


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``Webhook-Signature`` value of one call: ``v1,<base64 HMAC-SHA256>``."""
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a signed call."""
    return {
        "Webhook-Id": message_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(key, message_id, timestamp, body),
    }


def verify(
    key: bytes,
    call_headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> tuple[str, int]:
    """Check a call's signature headers (lower-case names) against ``body``; its id and
    timestamp when it holds, else :class:`MissingHeaders`, :class:`Expired` or
    :class:`BadSignature`. Several space-separated signatures are allowed (a secret being
    rotated); one match is enough. Only ``v1`` signatures are understood."""
    message_id = call_headers.get(ID_HEADER, "").strip()
    stamp = call_headers.get(TIMESTAMP_HEADER, "").strip()
    offered = call_headers.get(SIGNATURE_HEADER, "").strip()
    if not (message_id and stamp and offered):
        raise MissingHeaders("Webhook-Id, Webhook-Timestamp and Webhook-Signature are required")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise Expired(f"Webhook-Timestamp {stamp!r} is not Unix seconds") from None
    if abs(now - timestamp) > tolerance:
        raise Expired(f"Webhook-Timestamp is more than {tolerance} seconds from now")
    expected = sign(key, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected.encode(), entry.encode()) for entry in offered.split()):
        raise BadSignature("the signature does not match the body")
    return message_id, timestamp
