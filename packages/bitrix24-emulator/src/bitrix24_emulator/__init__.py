"""A Bitrix24 REST emulator for tests, demos and benchmarks (like stripe-mock for Stripe).

:class:`Emulator` holds an emulated portal and answers REST calls with Bitrix24's envelopes,
errors and limits; :meth:`Emulator.transport` serves it to httpx in-process and
:meth:`Emulator.asgi` (or :func:`create_app`) over HTTP; the ``bitrix24-emulator`` command
(:mod:`.cli`) serves one on a host and port. It imports nothing of the clients it stands in for.
"""

from __future__ import annotations

from bitrix24_emulator.app import create_app
from bitrix24_emulator.clock import Clock, SystemClock, VirtualClock
from bitrix24_emulator.core import (
    FAULT_KINDS,
    FAULT_PROFILES,
    Emulator,
    EmulatorConfig,
    Fault,
    Reply,
    TransportFault,
)
from bitrix24_emulator.errors import ApiError
from bitrix24_emulator.limits import ENTERPRISE, PLANS, STANDARD, Plan

__all__ = [
    "ENTERPRISE",
    "FAULT_KINDS",
    "FAULT_PROFILES",
    "PLANS",
    "STANDARD",
    "ApiError",
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "Plan",
    "Reply",
    "SystemClock",
    "TransportFault",
    "VirtualClock",
    "create_app",
]
