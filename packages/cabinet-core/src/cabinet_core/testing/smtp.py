"""An SMTP sink on loopback: a real server (aiosmtpd) that keeps every message it receives.

aiosmtpd is a test dependency, not one of the core's: :func:`smtp_sink` in the pytest plugin
skips, saying so, when it is not installed.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

import attrs

__all__ = ["Received", "SmtpSink", "free_port", "running_sink"]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@attrs.frozen
class Received:
    """One message as the server got it."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the modern policy (headers decoded, parts iterable)."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class SmtpSink:
    """The aiosmtpd handler: keeps messages, or refuses each with ``refuse`` (an SMTP reply
    such as ``"550 mailbox unavailable"``) to test a failing server."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.received: list[Received] = []
        self.refuse: str | None = None
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook for one message."""
        if self.refuse is not None:
            return self.refuse
        self.received.append(
            Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(envelope.content))
        )
        self.arrived.set()
        return "250 OK"


@contextmanager
def running_sink() -> Iterator[SmtpSink]:
    """An :class:`SmtpSink` served on a free loopback port until the block ends (needs
    aiosmtpd)."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
