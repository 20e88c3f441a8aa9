"""cabinet-bitrix's plugin module (entry point ``cabinet_bitrix``): the ``bitrix24`` backend.

Registered always, active only when settings name it (``CABINET_CRM_BACKENDS=bitrix24``).
"""

from __future__ import annotations

from cabinet_core.hookspecs import Register, hookimpl

from cabinet_bitrix.backend import BitrixBackend


@hookimpl
def register_crm_backends(register: Register) -> None:
    """Register the ``bitrix24`` CRM backend (configured from ``CABINET_BITRIX_*``)."""
    register("bitrix24", BitrixBackend.from_env)
