"""Built-in plugin: the ``offline`` (demo, tests) and ``nbp`` (NBP Web API) rate providers.

Settings (``rate_provider``) pick one; ``offline`` is the default so the demo needs no network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cabinet_core.fx import NbpRateProvider, OfflineRateProvider
from cabinet_core.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet


def _offline(cabinet: Cabinet) -> OfflineRateProvider:
    return OfflineRateProvider()


def _nbp(cabinet: Cabinet) -> NbpRateProvider:
    return NbpRateProvider()


@hookimpl
def register_rate_providers(register: Register) -> None:
    """Register ``offline`` and ``nbp`` as factories taking the cabinet."""
    register("offline", _offline)
    register("nbp", _nbp)
