"""The Bitrix24 backend's settings: the cabinet's ``bitrix`` plugin namespace
(``cabinet.plugin_config("bitrix")``), filled from ``CABINET_BITRIX_*`` environment variables by
the core or set in code (``Settings(plugins={"bitrix": {"webhook_url": ...}})``). The plugin
never reads the environment itself.

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
  (bitrix24.md §3.4) — a string user field the backend creates on first use, named as
  ``userfieldconfig.add`` requires, ``UF_{entityId}_CABINET_ID`` (``UF_CRM_QUOTE_CABINET_ID``),
  and found again by its ``xmlId`` ``cabinet_origin`` whatever its name.
  ``CABINET_BITRIX_ORIGIN_USER_FIELD`` names another (existing or to be created) user field.
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

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from cabinet_bitrix.auth import DEFAULT_TOKEN_URL
from cabinet_bitrix.limiter import PLANS, RatePlan

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

#: The plugin's settings namespace: ``CABINET_BITRIX_*``, ``Settings.plugins["bitrix"]``.
NAMESPACE = "bitrix"

#: Bitrix24's entityTypeId of the Quote (estimate), the default home of cabinet documents.
QUOTE = 7
#: The postfix of the user field that carries the cabinet's id where ``xmlId`` does not
#: exist: ``UF_{entityId}_CABINET_ID`` (userfieldconfig-add.md: a name must start with
#: ``UF_{entityId}_``), ``UF_CRM_QUOTE_CABINET_ID`` on quotes.
ORIGIN_FIELD_POSTFIX = "CABINET_ID"
#: The ``xmlId`` the origin user field is created with and found again by: its name may
#: differ on a portal (an admin's field, an older install), its description does not.
ORIGIN_FIELD_XML_ID = "cabinet_origin"
#: User-field entities of the system types (bitrix24.md §3.9); SPAs use ``CRM_{type id}``.
USER_FIELD_ENTITIES = {
    1: "CRM_LEAD",
    2: "CRM_DEAL",
    3: "CRM_CONTACT",
    4: "CRM_COMPANY",
    7: "CRM_QUOTE",
    31: "CRM_SMART_INVOICE",
}
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
    origin_user_field: str = ""
    origin_prefix: str = "cabinet"
    nip_field: str = attrs.field(default="RQ_VAT_ID")
    price_type: int = 1
    reconcile_seconds: float = 300.0
    tag_client: bool = True
    plan: str = attrs.field(default="standard")
    timeout: float = 60.0
    #: The workgroup whose feed becomes the cabinet's news (``CABINET_BITRIX_NEWS_GROUP``) and
    #: the Open Lines line of the chat connector (``CABINET_BITRIX_OPENLINE``), as configured:
    #: :func:`cabinet_bitrix.news.news_group` and :func:`cabinet_bitrix.chat.open_line` read them.
    news_group: str = ""
    openline: str = ""

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
        invoice) and the user field elsewhere (quotes have no ``xmlId``):
        ``CABINET_BITRIX_ORIGIN_USER_FIELD`` or ``UF_{entityId}_CABINET_ID``. The backend
        may find the portal's field under another name
        (:meth:`~cabinet_bitrix.backend.BitrixBackend.ensure_origin_field`)."""
        if self.origin_field:
            return self.origin_field
        if entity_type_id >= 128 or entity_type_id == 31:
            return "xmlId"
        if self.origin_user_field:
            return self.origin_user_field
        entity = USER_FIELD_ENTITIES.get(entity_type_id, f"CRM_{entity_type_id}")
        return f"UF_{entity}_{ORIGIN_FIELD_POSTFIX}"

    @classmethod
    def of(cls, cabinet: Cabinet) -> BitrixSettings:
        """The settings of ``cabinet``'s ``bitrix`` namespace (see :meth:`from_config`)."""
        return cls.from_config(cabinet.plugin_config(NAMESPACE))

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> BitrixSettings:
        """Read the ``bitrix`` namespace (``{"webhook_url": ..., "plan": ...}``, the
        ``CABINET_BITRIX_*`` names without prefix, in lower case); ``ValueError`` names the
        variable that is missing or malformed, so a misconfigured worker stops at start-up
        rather than at each message."""

        def get(name: str) -> str:
            return str(config.get(name, "")).strip()

        values: dict[str, object] = {}
        for key in (
            "webhook_url",
            "client_id",
            "client_secret",
            "member_id",
            "token_url",
            "origin_field",
            "origin_user_field",
            "origin_prefix",
            "plan",
            "nip_field",
            "news_group",
            "openline",
        ):
            if get(key):
                values[key] = get(key)
        app = values.get("client_id") and values.get("member_id")
        if app and not values.get("client_secret"):
            raise ValueError("CABINET_BITRIX_CLIENT_SECRET is not set for the Bitrix24 app")
        if not app and not values.get("webhook_url"):
            raise ValueError(
                "CABINET_BITRIX_WEBHOOK_URL is not set; the bitrix24 CRM backend needs the "
                "inbound webhook URL (https://PORTAL/rest/USER_ID/CODE/), or an installed app "
                "(CABINET_BITRIX_CLIENT_ID, CABINET_BITRIX_CLIENT_SECRET, CABINET_BITRIX_MEMBER_ID)"
            )
        if get("entity_types"):
            values["entity_types"] = _entity_types(get("entity_types"))
        default = get("default_entity_type")
        if default:
            if not default.isdigit():
                raise ValueError("CABINET_BITRIX_DEFAULT_ENTITY_TYPE must be an entityTypeId")
            values["default_entity_type"] = int(default)
        price_type = get("price_type")
        if price_type:
            if not price_type.isdigit():
                raise ValueError("CABINET_BITRIX_PRICE_TYPE must be a catalogGroupId (a number)")
            values["price_type"] = int(price_type)
        if get("reconcile_seconds"):
            try:
                seconds = float(get("reconcile_seconds"))
            except ValueError:
                raise ValueError("CABINET_BITRIX_RECONCILE_SECONDS must be a number") from None
            if seconds <= 0:
                raise ValueError("CABINET_BITRIX_RECONCILE_SECONDS must be positive")
            values["reconcile_seconds"] = seconds
        tag = get("tag_client").lower()
        if tag:
            if tag not in ("on", "off", "1", "0", "yes", "no", "true", "false"):
                raise ValueError("CABINET_BITRIX_TAG_CLIENT must be on or off")
            values["tag_client"] = tag in ("on", "1", "yes", "true")
        if get("timeout"):
            try:
                values["timeout"] = float(get("timeout"))
            except ValueError:
                raise ValueError("CABINET_BITRIX_TIMEOUT must be a number of seconds") from None
        return cls(**values)  # type: ignore[arg-type]
