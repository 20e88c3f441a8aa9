"""The webhook backend's settings: the ``webhook`` namespace of the cabinet's settings
(``cabinet.plugin_config("webhook")``), i.e. the ``CABINET_WEBHOOK_*`` environment variables or
values set in code.

* ``CABINET_WEBHOOK_URL`` (required): where every change is POSTed (an n8n, Make or Zapier
  webhook trigger, or your own receiver). ``http`` or ``https``.
* ``CABINET_WEBHOOK_SECRET`` (required): the shared signing secret, ``whsec_<base64>`` (the
  Standard Webhooks form) or any other string of at least 16 characters.
* ``CABINET_WEBHOOK_TIMEOUT``: seconds to wait for the receiver's answer (10).
* ``CABINET_WEBHOOK_CONNECTIONS``: parallel connections a batch is spread over (8).

Only the backend's factory reads them, through the core's namespace: the plugin never touches
the environment itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from cabinet_webhook.signature import secret_key

MIN_SECRET_LENGTH = 16


def _url(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"CABINET_WEBHOOK_URL must be an http(s) URL, not {value!r}")


def _secret(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    secret_key(value)
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"CABINET_WEBHOOK_SECRET needs at least {MIN_SECRET_LENGTH} characters")


@attrs.frozen(kw_only=True)
class WebhookSettings:
    """Where to send, how to sign, how long to wait, how many connections."""

    url: str = attrs.field(validator=_url)
    secret: str = attrs.field(validator=_secret, repr=False)
    timeout: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    connections: int = attrs.field(default=8, validator=attrs.validators.ge(1))

    @property
    def key(self) -> bytes:
        """The HMAC key of the secret."""
        return secret_key(self.secret)

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> WebhookSettings:
        """Read the ``webhook`` namespace (``{"url": ..., "secret": ...}``, the
        ``CABINET_WEBHOOK_*`` names without prefix, in lower case); :class:`ValueError` naming
        the variable that is missing or wrong."""
        missing = [
            f"CABINET_WEBHOOK_{name.upper()}"
            for name in ("url", "secret")
            if not str(config.get(name, "")).strip()
        ]
        if missing:
            raise ValueError(f"the webhook backend needs {' and '.join(missing)}")
        values: dict[str, object] = {
            "url": str(config["url"]).strip(),
            "secret": str(config["secret"]).strip(),
        }
        if config.get("timeout"):
            values["timeout"] = float(config["timeout"])
        if config.get("connections"):
            values["connections"] = int(config["connections"])
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebhookSettings:
        """Read ``CABINET_WEBHOOK_*`` from ``environ`` (as the core would hand them over)."""
        prefix = "CABINET_WEBHOOK_"
        return cls.from_config(
            {
                name[len(prefix) :].lower(): value
                for name, value in environ.items()
                if name.startswith(prefix)
            }
        )
