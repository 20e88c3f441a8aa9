"""The emulator served over HTTP from a thread of the current process.

For tests that need a real socket (a third-party client, "connection refused") but want the
emulator object at hand. :meth:`Served.refuse` stops listening (a client then gets connection
refused, the outage no HTTP status can imitate) and :meth:`Served.accept` listens again on the
same port with the same state.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

    from ksef_emulator.core import Emulator

__all__ = ["Served", "free_port", "serve_in_thread"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Served:
    """A running server for one emulator."""

    def __init__(self, emulator: Emulator, host: str, port: int, startup_seconds: float):
        self.emulator = emulator
        self.host = host
        self.port = port
        self.startup_seconds = startup_seconds
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server root (the API is under ``/v2``)."""
        return f"http://{self.host}:{self.port}"

    def accept(self) -> None:
        """Start listening (again)."""
        import uvicorn

        from ksef_emulator.app import create_app

        if self._server is not None:
            return
        config = uvicorn.Config(
            create_app(self.emulator),
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="ksef-emulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + self.startup_seconds
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"the KSeF emulator did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def refuse(self) -> None:
        """Stop listening: connections are refused until :meth:`accept`."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=self.startup_seconds)
        self._server = self._thread = None


@contextmanager
def serve_in_thread(
    emulator: Emulator, *, host: str = "127.0.0.1", port: int, startup_seconds: float = 10.0
) -> Iterator[Served]:
    """Serve ``emulator`` on ``host:port`` until the block ends. ``port`` should be the one in
    the emulator's ``base_url`` (pre-signed links are built on it)."""
    served = Served(emulator, host, port, startup_seconds)
    served.accept()
    try:
        yield served
    finally:
        served.refuse()
