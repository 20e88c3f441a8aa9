"""cabinet-core: the client-cabinet SDK (entities, money and VAT rules, documents, storage, hooks).

The public face is small: build a :class:`Cabinet` from :class:`Settings` and call its services.
Nothing here imports a web framework.
"""

from __future__ import annotations

from cabinet_core.app import Cabinet
from cabinet_core.hookspecs import hookimpl
from cabinet_core.settings import Branding, Settings, SmtpSettings

__all__ = ["Branding", "Cabinet", "Settings", "SmtpSettings", "hookimpl"]
__version__ = "0.1.0"
