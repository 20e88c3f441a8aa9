"""The emulator served over HTTP from a thread of the current process.

For tests and benchmarks that need a real socket (a client in another process, a third-party
SDK, requests in flight on real connections) but want the emulator object at hand to inspect
or script. The ``bitrix24-emulator`` command serves it as a process instead.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bitrix24_emulator.core import Emulator

__all__ = ["free_port", "serve_in_thread"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (to put in the emulator's ``portal_url``)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(
    emulator: Emulator, *, host: str = "127.0.0.1", port: int, startup_seconds: float = 10.0
) -> Iterator[str]:
    """Serve ``emulator`` on ``host:port`` with uvicorn until the block ends; yields the base
    URL. ``port`` must be the one in the emulator's ``portal_url``, which its answers (the
    webhook URL, OAuth endpoints) are built from."""
    import uvicorn

    config = uvicorn.Config(
        emulator.asgi(), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="bitrix-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_seconds
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the emulator did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=startup_seconds)
