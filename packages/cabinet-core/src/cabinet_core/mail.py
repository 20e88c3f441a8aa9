"""The mailer seam: sending a message with attachments (SMTP, a local folder …)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs


@attrs.frozen(kw_only=True)
class Attachment:
    filename: str
    content: bytes
    media_type: str


@attrs.frozen(kw_only=True)
class MailMessage:
    """One e-mail. ``language`` is recorded so tests and logs can check it."""

    to: tuple[str, ...]
    subject: str
    body: str
    sender: str | None = None
    reply_to: str | None = None
    language: str = "pl"
    attachments: tuple[Attachment, ...] = ()


class MailError(Exception):
    """The message could not be handed over; the caller retries and shows it as failed."""


@runtime_checkable
class Mailer(Protocol):
    name: str

    def send(self, message: MailMessage) -> None:
        """Hand the message over or raise :class:`MailError`."""
        ...


def addresses(value: str | Sequence[str]) -> tuple[str, ...]:
    """Normalise one address or a list of them."""
    if isinstance(value, str):
        return (value,)
    return tuple(value)
