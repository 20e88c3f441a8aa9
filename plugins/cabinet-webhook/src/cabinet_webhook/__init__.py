"""cabinet-webhook: a CRM backend that speaks signed JSON webhooks.

Every change the cabinet makes (documents, clients, counterparties, products, users, news, chat)
is POSTed to one URL as JSON, signed the Standard Webhooks way (``Webhook-Id``,
``Webhook-Timestamp``, ``Webhook-Signature``), and retried through the outbox until the
receiver answers 2xx. Signed status and payment changes come back at ``POST /hooks/webhook``.
Point it at an n8n, Make or Zapier webhook trigger, or at your own service; see README.md.
"""

from __future__ import annotations

from cabinet_webhook.backend import WebhookBackend
from cabinet_webhook.delivery import envelope
from cabinet_webhook.inbound import WebhookInbound
from cabinet_webhook.settings import WebhookSettings
from cabinet_webhook.signature import secret_key, sign, verify

__all__ = [
    "WebhookBackend",
    "WebhookInbound",
    "WebhookSettings",
    "envelope",
    "secret_key",
    "sign",
    "verify",
]
