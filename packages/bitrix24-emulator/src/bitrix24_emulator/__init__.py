"""A Bitrix24 REST emulator for tests, demos and benchmarks (like stripe-mock for Stripe).

:class:`Emulator` holds an emulated portal and answers REST calls with Bitrix24's envelopes,
errors and limits; :meth:`Emulator.transport` serves it to httpx in-process and
:meth:`Emulator.asgi` (or :func:`create_app`) over HTTP (``cabinet bitrix-emulator``).
"""

from __future__ import annotations

from cabinet_bitrix.emulator.app import create_app
from cabinet_bitrix.emulator.clock import Clock, SystemClock, VirtualClock
from cabinet_bitrix.emulator.core import (
    FAULT_KINDS,
    Emulator,
    EmulatorConfig,
    Fault,
    Reply,
    TransportFault,
)
from cabinet_bitrix.emulator.errors import ApiError
from cabinet_bitrix.emulator.limits import ENTERPRISE, PLANS, STANDARD, Plan

__all__ = [
    "ENTERPRISE",
    "FAULT_KINDS",
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
