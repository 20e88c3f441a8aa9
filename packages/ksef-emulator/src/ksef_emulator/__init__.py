"""A KSeF 2.0 API emulator: the Ministry of Finance's e-invoicing system, for tests and demos.

In process::

    from ksef_emulator import Emulator, EmulatorConfig, VirtualClock, create_app
    emulator = Emulator(EmulatorConfig(base_url="http://ksef.test"), clock=VirtualClock())
    token = emulator.add_token("5265877635")            # a KSeF token for that NIP context
    emulator.grant("5265877635", to="7010002137")         # an accounting office's permissions
    app = create_app(emulator)                            # ASGI; the API is under /v2

Served: ``ksef-emulator --port 8098`` (see :mod:`ksef_emulator.cli`) or
:func:`ksef_emulator.server.serve_in_thread`.
"""

from ksef_emulator.app import API_PREFIX, create_app
from ksef_emulator.clock import Clock, SystemClock, VirtualClock
from ksef_emulator.core import Emulator, EmulatorConfig, Faults, Reply
from ksef_emulator.identifiers import crc8, is_ksef_number, ksef_number, reference_number
from ksef_emulator.transport import emulator_transport

__all__ = [
    "API_PREFIX",
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "Faults",
    "Reply",
    "SystemClock",
    "VirtualClock",
    "crc8",
    "create_app",
    "emulator_transport",
    "is_ksef_number",
    "ksef_number",
    "reference_number",
]
