"""The Bitrix24 backend's settings, read from ``CABINET_BITRIX_*`` environment variables.

How the portal is reached (one of the two; docs/bitrix24.md says what each gives):

* ``CABINET_BITRIX_WEBHOOK_URL``: an inbound webhook, ``https://PORTAL/rest/{user_id}/{code}/``.
* ``CABINET_BITRIX_CLIENT_ID``, ``CABINET_BITRIX_CLIENT_SECRET``, ``CABINET_BITRIX_MEMBER_ID``:
  a local or marketplace app installed on the portal ``MEMBER_ID`` (its tokens are kept by
  the install callback); ``CABINET_BITRIX_TOKEN_URL`` is the OAuth server
  (``https://oauth.bitrix.info/oauth/token/``). When both are set, the app is used.

What documents become:

* ``CABINET_BITRIX_ENTITY_TYPES``: which CRM entity each document type becomes,
  ``vat_invoice=1038,proforma=7`` (an ``entityTypeId`` per cabinet document type).
* ``CABINET_BITRIX_DEFAULT_ENTITY_TYPE``: for every other type; 7, the Quote (estimate).
* ``CABINET_BITRIX_ORIGIN_FIELD``: the item field holding the cabinet's id for every type. Unset
  (the default) means: ``xmlId`` on smart processes, and on quotes — which have no ``xmlId``
  (bitrix24.md §3.4) — the user field ``CABINET_BITRIX_ORIGIN_USER_FIELD``
  (``UF_CRM_CABINET_ID``), which the backend creates on first use.
* ``CABINET_BITRIX_ORIGIN_PREFIX``: prefix of that id (``cabinet``), so two cabinets can share
  one portal. Companies and contacts carry it as ``originatorId``.
* ``CABINET_BITRIX_NIP_FIELD``: the requisite field of the NIP, ``RQ_VAT_ID`` (default) or
  ``RQ_INN``; Bitrix24 has no ``RQ_NIP`` and which of the two the Polish preset shows is not
  documented (bitrix24.md §3.7).
* ``CABINET_BITRIX_PRICE_TYPE``: the catalogue price type (``catalogGroupId``) of product
  prices, 1 (the base price) by default.

* ``CABINET_BITRIX_RECONCILE_SECONDS``: how often the worker reconciles with the portal (300).
* ``CABINET_BITRIX_TAG_CLIENT``: ``off`` stops tagging items with the client's company as
  ``mycompanyId`` (for a portal that accepts only its own companies there); inbound changes are
  then matched by the origin field alone.

Stages: the status ↔ stage mapping lives in the settings table (``bitrix24.stage_map``, see
:mod:`cabinet_bitrix.stages`), so admins change it without a restart.

How fast:

* ``CABINET_BITRIX_PLAN``: ``standard`` (bursts of 50, 2 requests/s) or ``enterprise`` (250, 5/s).
* ``CABINET_BITRIX_TIMEOUT``: read timeout in seconds (60, the portal's own per-request limit).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from cabinet_bitrix.auth import DEFAULT_TOKEN_URL
from cabinet_bitrix.limiter import PLANS, RatePlan

#: Bitrix24's entityTypeId of the Quote (estimate), the default home of cabinet documents.
QUOTE = 7
#: The user field that carries the cabinet's id where ``xmlId`` does not exist.
ORIGIN_USER_FIELD = "UF_CRM_CABINET_ID"
#: Requisite fields a NIP may go to (there is no ``RQ_NIP``).
NIP_FIELDS = frozenset({"RQ_VAT_ID", "RQ_INN"})


def _entity_types(text: str) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        doc_type, sep, value = part.partition("=")
        if not sep or not doc_type.strip() or not value.strip().isdigit():
            raise ValueError(
                f"CABINET_BITRIX_ENTITY_TYPES: expected doc_type=entityTypeId, got {part.strip()!r}"
            )
        mapping[doc_type.strip()] = int(value)
    return mapping


@attrs.frozen(kw_only=True)
class BitrixSettings:
    """Where the portal is, how to authenticate, and how cabinet documents map onto its CRM
    items."""

    webhook_url: str = attrs.field(default="", repr=False)
    client_id: str = ""
    client_secret: str = attrs.field(default="", repr=False)
    member_id: str = ""
    token_url: str = DEFAULT_TOKEN_URL
    entity_types: Mapping[str, int] = attrs.field(factory=dict)
    default_entity_type: int = QUOTE
    origin_field: str = ""
    origin_user_field: str = ORIGIN_USER_FIELD
    origin_prefix: str = "cabinet"
    nip_field: str = attrs.field(default="RQ_VAT_ID")
    price_type: int = 1
    reconcile_seconds: float = 300.0
    tag_client: bool = True
    plan: str = attrs.field(default="standard")
    timeout: float = 60.0

    @plan.validator
    def _known_plan(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in PLANS:
            raise ValueError(f"CABINET_BITRIX_PLAN must be one of {sorted(PLANS)}, not {value!r}")

    @nip_field.validator
    def _known_nip_field(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in NIP_FIELDS:
            raise ValueError(
                f"CABINET_BITRIX_NIP_FIELD must be one of {sorted(NIP_FIELDS)}, not {value!r}"
            )

    @property
    def mode(self) -> str:
        """``"app"`` when app credentials are set, else ``"webhook"``."""
        return "app" if self.client_id and self.member_id else "webhook"

    @property
    def rate_plan(self) -> RatePlan:
        """The request-rate limits of the portal's plan."""
        return PLANS[self.plan]

    def entity_type_for(self, doc_type: str) -> int:
        """The ``entityTypeId`` documents of ``doc_type`` are delivered as."""
        return self.entity_types.get(doc_type, self.default_entity_type)

    def origin_field_for(self, entity_type_id: int) -> str:
        """The field carrying the cabinet's id on items of ``entity_type_id``: the configured
        one, else ``xmlId`` on smart processes (``entityTypeId`` ≥ 128, and 31, the new
        invoice) and the user field elsewhere (quotes have no ``xmlId``)."""
        if self.origin_field:
            return self.origin_field
        if entity_type_id >= 128 or entity_type_id == 31:
            return "xmlId"
        return self.origin_user_field

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BitrixSettings:
        """Read the ``CABINET_BITRIX_*`` variables; ``ValueError`` names what is missing or
        malformed, so a misconfigured worker stops at start-up rather than at each message."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name, "").strip()

        values: dict[str, object] = {}
        for key, name in (
            ("webhook_url", "CABINET_BITRIX_WEBHOOK_URL"),
            ("client_id", "CABINET_BITRIX_CLIENT_ID"),
            ("client_secret", "CABINET_BITRIX_CLIENT_SECRET"),
            ("member_id", "CABINET_BITRIX_MEMBER_ID"),
            ("token_url", "CABINET_BITRIX_TOKEN_URL"),
            ("origin_field", "CABINET_BITRIX_ORIGIN_FIELD"),
            ("origin_user_field", "CABINET_BITRIX_ORIGIN_USER_FIELD"),
            ("origin_prefix", "CABINET_BITRIX_ORIGIN_PREFIX"),
            ("plan", "CABINET_BITRIX_PLAN"),
            ("nip_field", "CABINET_BITRIX_NIP_FIELD"),
        ):
            if get(name):
                values[key] = get(name)
        app = values.get("client_id") and values.get("member_id")
        if app and not values.get("client_secret"):
            raise ValueError("CABINET_BITRIX_CLIENT_SECRET is not set for the Bitrix24 app")
        if not app and not values.get("webhook_url"):
            raise ValueError(
                "CABINET_BITRIX_WEBHOOK_URL is not set; the bitrix24 CRM backend needs the "
                "inbound webhook URL (https://PORTAL/rest/USER_ID/CODE/), or an installed app "
                "(CABINET_BITRIX_CLIENT_ID, CABINET_BITRIX_CLIENT_SECRET, CABINET_BITRIX_MEMBER_ID)"
            )
        if get("CABINET_BITRIX_ENTITY_TYPES"):
            values["entity_types"] = _entity_types(env["CABINET_BITRIX_ENTITY_TYPES"])
        default = get("CABINET_BITRIX_DEFAULT_ENTITY_TYPE")
        if default:
            if not default.isdigit():
                raise ValueError("CABINET_BITRIX_DEFAULT_ENTITY_TYPE must be an entityTypeId")
            values["default_entity_type"] = int(default)
        price_type = get("CABINET_BITRIX_PRICE_TYPE")
        if price_type:
            if not price_type.isdigit():
                raise ValueError("CABINET_BITRIX_PRICE_TYPE must be a catalogGroupId (a number)")
            values["price_type"] = int(price_type)
        if get("CABINET_BITRIX_RECONCILE_SECONDS"):
            try:
                values["reconcile_seconds"] = float(env["CABINET_BITRIX_RECONCILE_SECONDS"])
            except ValueError:
                raise ValueError("CABINET_BITRIX_RECONCILE_SECONDS must be a number") from None
            if values["reconcile_seconds"] <= 0:  # type: ignore[operator]
                raise ValueError("CABINET_BITRIX_RECONCILE_SECONDS must be positive")
        tag = get("CABINET_BITRIX_TAG_CLIENT").lower()
        if tag:
            if tag not in ("on", "off", "1", "0", "yes", "no", "true", "false"):
                raise ValueError("CABINET_BITRIX_TAG_CLIENT must be on or off")
            values["tag_client"] = tag in ("on", "1", "yes", "true")
        if get("CABINET_BITRIX_TIMEOUT"):
            try:
                values["timeout"] = float(env["CABINET_BITRIX_TIMEOUT"])
            except ValueError:
                raise ValueError("CABINET_BITRIX_TIMEOUT must be a number of seconds") from None
        return cls(**values)  # type: ignore[arg-type]
