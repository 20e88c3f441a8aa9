"""The Bitrix24 backend's settings, read from ``CABINET_BITRIX_*`` environment variables.

* ``CABINET_BITRIX_WEBHOOK_URL`` (required): the inbound webhook,
  ``https://PORTAL/rest/{user_id}/{code}/``.
* ``CABINET_BITRIX_ENTITY_TYPES``: which CRM entity each document type becomes,
  ``vat_invoice=1038,proforma=7`` (an ``entityTypeId`` per cabinet document type).
* ``CABINET_BITRIX_DEFAULT_ENTITY_TYPE``: for every other type; 7, the Quote (estimate).
* ``CABINET_BITRIX_ORIGIN_FIELD``: the item field holding the cabinet's id, ``xmlId`` unless the
  portal needs a user field (``ufCrm_…``) for it.
* ``CABINET_BITRIX_ORIGIN_PREFIX``: prefix of that id (``cabinet``), so two cabinets can share
  one portal.
* ``CABINET_BITRIX_TIMEOUT``: read timeout in seconds (60, the portal's own per-request limit).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

#: Bitrix24's entityTypeId of the Quote (estimate), the default home of cabinet documents.
QUOTE = 7


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
    """Where the portal is and how cabinet documents map onto its CRM items."""

    webhook_url: str = attrs.field(repr=False)
    entity_types: Mapping[str, int] = attrs.field(factory=dict)
    default_entity_type: int = QUOTE
    origin_field: str = "xmlId"
    origin_prefix: str = "cabinet"
    timeout: float = 60.0

    def entity_type_for(self, doc_type: str) -> int:
        """The ``entityTypeId`` documents of ``doc_type`` are delivered as."""
        return self.entity_types.get(doc_type, self.default_entity_type)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BitrixSettings:
        """Read the ``CABINET_BITRIX_*`` variables; ``ValueError`` names what is missing or
        malformed, so a misconfigured worker stops at start-up rather than at each message."""
        env = os.environ if environ is None else environ
        url = env.get("CABINET_BITRIX_WEBHOOK_URL", "").strip()
        if not url:
            raise ValueError(
                "CABINET_BITRIX_WEBHOOK_URL is not set; the bitrix24 CRM backend needs the "
                "inbound webhook URL (https://PORTAL/rest/USER_ID/CODE/)"
            )
        values: dict[str, object] = {"webhook_url": url}
        if env.get("CABINET_BITRIX_ENTITY_TYPES"):
            values["entity_types"] = _entity_types(env["CABINET_BITRIX_ENTITY_TYPES"])
        default = env.get("CABINET_BITRIX_DEFAULT_ENTITY_TYPE", "").strip()
        if default:
            if not default.isdigit():
                raise ValueError("CABINET_BITRIX_DEFAULT_ENTITY_TYPE must be an entityTypeId")
            values["default_entity_type"] = int(default)
        for key, name in (
            ("origin_field", "CABINET_BITRIX_ORIGIN_FIELD"),
            ("origin_prefix", "CABINET_BITRIX_ORIGIN_PREFIX"),
        ):
            if env.get(name, "").strip():
                values[key] = env[name].strip()
        if env.get("CABINET_BITRIX_TIMEOUT", "").strip():
            try:
                values["timeout"] = float(env["CABINET_BITRIX_TIMEOUT"])
            except ValueError:
                raise ValueError("CABINET_BITRIX_TIMEOUT must be a number of seconds") from None
        return cls(**values)  # type: ignore[arg-type]
