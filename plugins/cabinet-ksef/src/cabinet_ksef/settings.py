"""The KSeF plugin's settings: the cabinet's ``ksef`` plugin namespace
(``cabinet.plugin_config("ksef")``), filled from ``CABINET_KSEF_*`` environment variables by the
core or set in code (``Settings(plugins={"ksef": {...}})``). The plugin never reads the
environment itself.

Where KSeF is:

* ``CABINET_KSEF_ENVIRONMENT``: ``test`` (the default), ``demo`` or ``production``: the
  Ministry's environment every client uses unless its own settings page says otherwise.
* ``CABINET_KSEF_BASE_URL``: any other base URL (the emulator, ``http://127.0.0.1:8098/v2``);
  it wins over the environment for every client.
* ``CABINET_KSEF_TIMEOUT``: seconds per HTTP call (30).

The clients' credentials are encrypted at rest with

* ``CABINET_KSEF_CREDENTIALS_KEY``: a Fernet key (``Fernet.generate_key()``); unset, a key is
  derived from the cabinet's ``CABINET_SECRET_KEY`` (HKDF-SHA256), so rotating that secret
  makes the stored credentials unreadable (the settings page then asks for them again).

How often:

* ``CABINET_KSEF_POLL_SECONDS``: the wait before an invoice's status is asked again (5).
* ``CABINET_KSEF_OFFLINE_AFTER``: after how many failed attempts to reach KSeF an invoice goes
  into offline24 mode (3; with the outbox's backoff, a few minutes).
* ``CABINET_KSEF_OFFLINE_SECONDS``: how often invoices waiting in offline mode are tried (300).
* ``CABINET_KSEF_RECEIVE_MINUTES``: how often each client's purchase invoices are fetched (30,
  so each is in the cabinet within the hour it appeared in KSeF (60 let some wait 61 minutes);
  at least 15, ksef-api.md §0.5: the metadata query allows 20 requests an hour per client).
* ``CABINET_KSEF_RECEIVE_PAGES``: how many metadata pages one client's pass may read (4), so a
  pass never spends the client's hourly budget alone.
* ``CABINET_KSEF_RECEIVE_HOURS``: when receiving runs, ``HH-HH`` in UTC (``""``, always); a
  first back-fill of years is best left to the night (§7.1).
* ``CABINET_KSEF_BACKFILL_DAYS``: how far back a client's first pass reaches (90, the
  longest window one query allows).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import time
from typing import TYPE_CHECKING

import attrs
from cabinet_core import sealing

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

#: The plugin's settings namespace: ``CABINET_KSEF_*``, ``Settings.plugins["ksef"]``.
NAMESPACE = "ksef"
#: The environments the Ministry runs (K2's ``cabinet_ksef.environments`` has their URLs).
ENVIRONMENTS = ("test", "demo", "production")
#: The metadata query's own floor: at most 20 requests an hour per client (§0.5, §8).
MIN_RECEIVE_MINUTES = 15
#: The HKDF label of the credentials key (changing it would make stored credentials unreadable).
CREDENTIALS_LABEL = b"cabinet-ksef credentials"


def _number(config: Mapping[str, str], key: str, default: float, *, minimum: float) -> float:
    text = config.get(key, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"CABINET_KSEF_{key.upper()}: not a number: {text!r}") from None
    if value < minimum:
        raise ValueError(f"CABINET_KSEF_{key.upper()}: at least {minimum:g}, got {value:g}")
    return value


def _hours(text: str) -> tuple[time, time] | None:
    text = text.strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError
        return time(int(start)), time(int(end) % 24)
    except ValueError:
        raise ValueError(
            f"CABINET_KSEF_RECEIVE_HOURS: expected HH-HH (UTC), got {text!r}"
        ) from None


@attrs.frozen(kw_only=True)
class KsefSettings:
    """What ``CABINET_KSEF_*`` configures (see the module's text)."""

    environment: str = "test"
    base_url: str = ""
    timeout: float = 30.0
    credentials_key: bytes = attrs.field(default=b"", repr=False)
    poll_seconds: float = 5.0
    offline_after: int = 3
    offline_seconds: float = 300.0
    receive_minutes: float = 30.0
    receive_pages: int = 4
    receive_hours: tuple[time, time] | None = None
    backfill_days: int = 90

    @classmethod
    def from_config(cls, config: Mapping[str, str], *, secret_key: str = "") -> KsefSettings:
        """The settings of a ``ksef`` namespace; ``secret_key`` is the cabinet's, from which
        the credentials key is derived when none is configured. :class:`ValueError` names
        the variable that is wrong."""
        environment = config.get("environment", "").strip().lower() or "test"
        if environment not in ENVIRONMENTS:
            raise ValueError(
                f"CABINET_KSEF_ENVIRONMENT: one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
            )
        key_text = config.get("credentials_key", "").strip()
        if key_text:
            key = key_text.encode()
            try:
                if len(base64.urlsafe_b64decode(key)) != 32:
                    raise ValueError
            except ValueError:
                raise ValueError(
                    "CABINET_KSEF_CREDENTIALS_KEY: not a Fernet key (32 url-safe base64 bytes)"
                ) from None
        else:
            key = derive_key(secret_key)
        return cls(
            environment=environment,
            base_url=config.get("base_url", "").strip().rstrip("/"),
            timeout=_number(config, "timeout", 30.0, minimum=1),
            credentials_key=key,
            poll_seconds=_number(config, "poll_seconds", 5.0, minimum=0.1),
            offline_after=int(_number(config, "offline_after", 3, minimum=1)),
            offline_seconds=_number(config, "offline_seconds", 300.0, minimum=1),
            receive_minutes=_number(config, "receive_minutes", 30.0, minimum=MIN_RECEIVE_MINUTES),
            receive_pages=int(_number(config, "receive_pages", 4, minimum=1)),
            receive_hours=_hours(config.get("receive_hours", "")),
            backfill_days=int(_number(config, "backfill_days", 90, minimum=1)),
        )

    @classmethod
    def of(cls, cabinet: Cabinet) -> KsefSettings:
        """The settings of ``cabinet``'s ``ksef`` namespace."""
        return cls.from_config(
            cabinet.plugin_config(NAMESPACE), secret_key=cabinet.settings.secret_key
        )

    def receiving_now(self, now: time) -> bool:
        """Whether ``now`` (UTC) is inside the receiving hours."""
        if self.receive_hours is None:
            return True
        start, end = self.receive_hours
        if start <= end:
            return start <= now < end
        return now >= start or now < end  # a window across midnight (20-06)


def derive_key(secret_key: str) -> bytes:
    """A Fernet key derived from the cabinet's secret key (the core's
    :func:`cabinet_core.sealing.derive_key` with a label of its own, so the session key, the
    SMTP password's key and the credentials key are never the same bytes)."""
    if not secret_key:
        raise ValueError("CABINET_KSEF_CREDENTIALS_KEY is unset and there is no secret key")
    return sealing.derive_key(secret_key, CREDENTIALS_LABEL)
