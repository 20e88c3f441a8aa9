"""cabinet-bitrix: the Bitrix24 CRM backend for cabinet (inbound-webhook mode, httpx).

:class:`BitrixClient` calls REST methods and turns error envelopes into :class:`BitrixError`;
:class:`BitrixBackend` delivers outbox messages about documents as CRM items.
"""

from __future__ import annotations

from cabinet_bitrix.backend import BitrixBackend
from cabinet_bitrix.client import BitrixClient, BitrixError, BitrixResponse
from cabinet_bitrix.settings import BitrixSettings

__all__ = ["BitrixBackend", "BitrixClient", "BitrixError", "BitrixResponse", "BitrixSettings"]
