"""The plugin's hooks: the ``webhook`` CRM backend, configured from the ``webhook`` settings
namespace (``CABINET_WEBHOOK_*``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from cabinet_webhook.backend import WebhookBackend
from cabinet_webhook.settings import WebhookSettings

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.hookspecs import Register

hookimpl = pluggy.HookimplMarker("cabinet")
#: The plugin's settings namespace: ``CABINET_WEBHOOK_*``.
NAMESPACE = "webhook"


def make_backend(cabinet: Cabinet) -> WebhookBackend:
    """The backend of ``cabinet``; its settings are read here and nowhere else."""
    return WebhookBackend(WebhookSettings.from_config(cabinet.plugin_config(NAMESPACE)))


@hookimpl
def register_crm_backends(register: Register) -> None:
    """Register the ``webhook`` backend (active when ``CABINET_CRM_BACKENDS`` names it)."""
    register("webhook", make_backend)
