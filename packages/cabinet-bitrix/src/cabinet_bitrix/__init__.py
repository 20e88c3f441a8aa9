"""cabinet-bitrix: the Bitrix24 CRM backend for cabinet, on httpx.

A portal is reached through an inbound webhook (:class:`WebhookAuth`) or an OAuth app
(:class:`OAuthAuth`, tokens kept per portal by the install callback). Event subscriptions,
placements and the Open Lines connector need the app; see :mod:`cabinet_bitrix.auth`.
:class:`BitrixClient` calls REST methods within the portal's limits (:mod:`.limiter`), packs
calls into batches (:mod:`.batching`) and reads lists whole (:mod:`.paging`);
:class:`BitrixBackend` delivers outbox messages about documents as CRM items.
"""

from __future__ import annotations

from cabinet_bitrix.auth import BitrixAuth, OAuthAuth, PortalTokens, WebhookAuth
from cabinet_bitrix.backend import BitrixBackend
from cabinet_bitrix.client import BitrixClient, BitrixError, BitrixResponse, RetryPolicy
from cabinet_bitrix.settings import BitrixSettings

__all__ = [
    "BitrixAuth",
    "BitrixBackend",
    "BitrixClient",
    "BitrixError",
    "BitrixResponse",
    "BitrixSettings",
    "OAuthAuth",
    "PortalTokens",
    "RetryPolicy",
    "WebhookAuth",
]
