"""The plugin's hooks: the ``webhook`` CRM backend, configured from the ``webhook`` settings
namespace (``CABINET_WEBHOOK_*``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy
from cabinet_core.configuration import Problem, problem_from_error

from cabinet_webhook.backend import WebhookBackend
from cabinet_webhook.settings import WebhookSettings

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.hookspecs import Register
    from cabinet_core.settings import Settings

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


@hookimpl
def check_configuration(settings: Settings) -> list[Problem]:
    """With the ``webhook`` backend active: its URL, secret, timeout and connections."""
    if "webhook" not in settings.crm_backends:
        return []
    try:
        WebhookSettings.from_config(settings.plugin_config(NAMESPACE))
    except (TypeError, ValueError) as exc:
        return [problem_from_error(exc, default_setting="CABINET_WEBHOOK_*")]
    return []
