"""The ``bitrix24`` CRM backend: pushes cabinet documents to CRM items through a webhook.

Each delivery sends the document's *current* state, so retries and out-of-order messages
converge. Creating is made idempotent by hand (CRM methods have no idempotency key, bitrix24.md
§0.10): the item carries the cabinet's id in ``origin_field`` and is looked up by it before a
new one is added. Product rows are replaced as a whole (``crm.item.productrow.set``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import Document, DocumentLine, PriceMode

from cabinet_bitrix.client import BitrixClient, BitrixError
from cabinet_bitrix.settings import BitrixSettings

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage

#: Short owner codes of the system types (bitrix24.md §3.1); SPAs use ``T`` + hex id.
_OWNER_TYPES = {1: "L", 2: "D", 3: "C", 4: "CO", 7: "Q", 31: "SI"}


def owner_type(entity_type_id: int) -> str:
    """The ``ownerType`` code product rows use for an entity type (``7`` → ``Q``,
    ``1038`` → ``T40e``)."""
    if entity_type_id in _OWNER_TYPES:
        return _OWNER_TYPES[entity_type_id]
    if entity_type_id >= 128:
        return f"T{entity_type_id:x}"
    raise ValueError(f"entityTypeId {entity_type_id} cannot own product rows")


def _amount(value: Decimal) -> str:
    # Decimals travel as plain strings ("10.5", never "1E+3"): Bitrix accepts them, and a float
    # must never carry money. Storage pads prices to six places; the padding says nothing.
    return format(value.normalize(), "f")


def product_row(line: DocumentLine, price_mode: PriceMode, sort: int) -> dict[str, Any]:
    """One document line as a ``crm.item.productrow`` (a free-text row, ``productId`` 0)."""
    row: dict[str, Any] = {
        "productId": 0,
        "productName": line.name,
        "price": _amount(line.unit_price),
        "quantity": _amount(line.quantity),
        "measureName": line.unit,
        "taxIncluded": "Y" if price_mode == PriceMode.GROSS else "N",
        "sort": sort,
    }
    if line.vat_rate.isdigit():
        row["taxRate"] = int(line.vat_rate)
    return row


class BitrixBackend:
    """Delivers outbox messages about documents to a Bitrix24 portal."""

    name = "bitrix24"

    def __init__(self, settings: BitrixSettings, *, client: BitrixClient | None = None) -> None:
        self.settings = settings
        self.client = client or BitrixClient(settings.webhook_url, timeout=settings.timeout)

    @classmethod
    def from_env(
        cls,
        cabinet: Cabinet | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> BitrixBackend:
        """The backend configured by ``CABINET_BITRIX_*`` (the factory the plugin registers)."""
        settings = BitrixSettings.from_env(environ)
        client = BitrixClient(settings.webhook_url, transport=transport, timeout=settings.timeout)
        return cls(settings, client=client)

    def origin_id(self, document: Document) -> str:
        """The cabinet's id of ``document`` as stored in the CRM item."""
        return f"{self.settings.origin_prefix}-document-{document.id}"

    def item_fields(self, cabinet: Cabinet, document: Document) -> dict[str, Any]:
        """The item fields a document sets (unknown keys are ignored by Bitrix24)."""
        doc_type = cabinet.document_types.get(document.doc_type)
        label = doc_type.label.get("pl", document.doc_type) if doc_type else document.doc_type
        fields: dict[str, Any] = {
            "title": f"{label} {document.number or f'#{document.id}'}",
            "currencyId": document.currency,
            "begindate": document.issue_date.isoformat(),
            "comments": document.notes,
        }
        if document.due_date is not None:
            fields["closedate"] = document.due_date.isoformat()
        if document.totals is not None:
            # The document's own total wins over Bitrix's recalculation from the rows.
            fields["opportunity"] = _amount(document.totals.gross)
            fields["isManualOpportunity"] = "Y"
        return fields

    def find_item(self, entity_type_id: int, origin: str) -> int | None:
        """The id of the item already carrying ``origin``, if a previous attempt created it."""
        result = self.client.call(
            "crm.item.list",
            {
                "entityTypeId": entity_type_id,
                "select": ["id"],
                "filter": {f"={self.settings.origin_field}": origin},
                "order": {"id": "ASC"},
                "start": -1,
            },
        )
        items = result.get("items", []) if isinstance(result, Mapping) else []
        return int(items[0]["id"]) if items else None

    def push_document(self, cabinet: Cabinet, document: Document) -> int:
        """Create or update the CRM item of ``document`` and set its product rows; returns
        the item id."""
        entity_type_id = self.settings.entity_type_for(document.doc_type)
        origin = self.origin_id(document)
        fields = self.item_fields(cabinet, document)
        item_id = self.find_item(entity_type_id, origin)
        if item_id is None:
            added = self.client.call(
                "crm.item.add",
                {
                    "entityTypeId": entity_type_id,
                    "fields": {**fields, self.settings.origin_field: origin},
                },
            )
            item_id = int(added["item"]["id"])
        else:
            self.client.call(
                "crm.item.update",
                {"entityTypeId": entity_type_id, "id": item_id, "fields": fields},
            )
        # A correction's "before" rows describe the corrected invoice, not what is sold now.
        lines = [line for line in document.lines if not line.before]
        self.client.call(
            "crm.item.productrow.set",
            {
                "ownerType": owner_type(entity_type_id),
                "ownerId": item_id,
                "productRows": [
                    product_row(line, document.price_mode, sort=10 * n)
                    for n, line in enumerate(lines, start=1)
                ],
            },
        )
        return item_id

    def deliver(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        """Push the document a message is about; other messages need nothing from Bitrix24 yet.

        Limits, 5xx answers and timeouts become retryable :class:`DeliveryError`; API errors
        (4xx) are permanent, as retrying the same request cannot succeed.
        """
        if message.entity != "document" or message.entity_id is None:
            return
        with cabinet.store.transaction(readonly=True) as tx:
            document = tx.get_document(message.entity_id)
        if document is None:
            # Deleted before delivery; removing CRM items belongs to the two-way sync.
            return
        try:
            self.push_document(cabinet, document)
        except BitrixError as exc:
            raise DeliveryError(
                f"bitrix24: {exc}",
                retry_after=exc.retry_after if exc.transient else None,
                permanent=not exc.transient,
            ) from exc
