"""The ``bitrix24`` CRM backend: pushes cabinet documents to CRM items (webhook or app).

Each delivery sends the document's *current* state, so retries and out-of-order messages
converge. Creating is made idempotent by hand (CRM methods have no idempotency key, bitrix24.md
§0.10): the item carries the cabinet's id in its origin field and is looked up by it before a
new one is added. Product rows are replaced as a whole (``crm.item.productrow.set``) in the same
``batch`` request as the item (``ownerId=$result[item…][item][id]``), so a document costs one
lookup and one write request, and many documents share both (:meth:`BitrixBackend.push_documents`).

The origin field: smart processes have ``xmlId``; quotes (entityTypeId 7) have none — the portal
ignores it on add and refuses it in a filter (bitrix24.md §3.4) — so on quotes the cabinet's id
goes into a string user field, ``UF_CRM_CABINET_ID`` by default, which the backend creates with
``userfieldconfig.add`` the first time it delivers to that entity (user fields are the
documented way to extend CRM entities, §3.9; ``originId`` exists only on companies and
contacts). Both default targets therefore work without setup beyond the webhook or app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import Document, DocumentLine, PriceMode

from cabinet_bitrix.auth import AuthError, BitrixAuth, OAuthAuth, SettingsTokenStore, WebhookAuth
from cabinet_bitrix.batching import BATCH_LIMIT, Command, chunks, pack, ref, run_batch
from cabinet_bitrix.client import BitrixClient, BitrixError
from cabinet_bitrix.limiter import RequestBucket
from cabinet_bitrix.paging import rows_of
from cabinet_bitrix.settings import BitrixSettings

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import OutboxMessage

#: Short owner codes of the system types (bitrix24.md §3.1); SPAs use ``T`` + hex id.
_OWNER_TYPES = {1: "L", 2: "D", 3: "C", 4: "CO", 7: "Q", 31: "SI"}
#: User-field entities of the system types (bitrix24.md §3.9); SPAs use ``CRM_{type id}``.
_UF_ENTITIES = {1: "CRM_LEAD", 2: "CRM_DEAL", 3: "CRM_CONTACT", 4: "CRM_COMPANY", 7: "CRM_QUOTE"}
_UF_ENTITIES[31] = "CRM_SMART_INVOICE"


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


def is_user_field(name: str) -> bool:
    """Whether ``name`` is a CRM user field (``UF_CRM_…`` or its camelCase ``ufCrm…``)."""
    return name.startswith(("UF_CRM_", "ufCrm"))


def make_client(
    settings: BitrixSettings,
    *,
    cabinet: Cabinet | None = None,
    transport: httpx.BaseTransport | None = None,
) -> BitrixClient:
    """The client the settings describe: the app (tokens in the cabinet's settings store) or
    the webhook, paced by the plan's request bucket."""
    auth: BitrixAuth
    if settings.mode == "app":
        if cabinet is None:
            raise ValueError("the Bitrix24 app mode keeps its tokens in the cabinet's store")
        auth = OAuthAuth(
            SettingsTokenStore(cabinet.store),
            settings.member_id,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            token_url=settings.token_url,
        )
    else:
        auth = WebhookAuth(settings.webhook_url)
    return BitrixClient(
        auth,
        transport=transport,
        timeout=settings.timeout,
        bucket=RequestBucket(settings.rate_plan),
    )


class BitrixBackend:
    """Delivers outbox messages about documents to a Bitrix24 portal."""

    name = "bitrix24"

    def __init__(self, settings: BitrixSettings, *, client: BitrixClient | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)
        #: Entity types whose origin user field is known to exist.
        self._origin_ready: set[int] = set()

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
        return cls(settings, client=make_client(settings, cabinet=cabinet, transport=transport))

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

    def user_field_entity(self, entity_type_id: int) -> str:
        """The ``entityId`` user fields of ``entity_type_id`` live under (``CRM_QUOTE``;
        ``CRM_{crm.type.list id}`` for a smart process)."""
        if entity_type_id in _UF_ENTITIES:
            return _UF_ENTITIES[entity_type_id]
        found = rows_of(
            self.client.call("crm.type.list", {"filter": {"entityTypeId": entity_type_id}}),
            "types",
        )
        if not found:
            raise BitrixError("NOT_FOUND", f"no smart process with entityTypeId {entity_type_id}")
        return f"CRM_{found[0]['id']}"

    def ensure_origin_field(self, entity_type_id: int) -> str:
        """The origin field of ``entity_type_id``, created first when it is a user field that
        the portal does not have yet (once per backend and entity type)."""
        name = self.settings.origin_field_for(entity_type_id)
        if not is_user_field(name) or entity_type_id in self._origin_ready:
            return name
        original = name if name.startswith("UF_CRM_") else None
        if original is None:
            # A camelCase name was configured: the portal's field is already there by contract.
            self._origin_ready.add(entity_type_id)
            return name
        entity = self.user_field_entity(entity_type_id)
        existing = rows_of(
            self.client.call(
                "userfieldconfig.list",
                {"moduleId": "crm", "filter": {"entityId": entity, "fieldName": original}},
            ),
            "fields",
        )
        if not existing:
            try:
                self.client.call(
                    "userfieldconfig.add",
                    {
                        "moduleId": "crm",
                        "field": {
                            "entityId": entity,
                            "fieldName": original,
                            "userTypeId": "string",
                            "multiple": "N",
                            "mandatory": "N",
                            "showFilter": "Y",
                            "editFormLabel": {
                                "pl": "Identyfikator w kabinecie",
                                "en": "Cabinet id",
                            },
                        },
                    },
                )
            except BitrixError as exc:
                # Another worker created it between our list and add.
                if exc.code != "ERROR_FIELD_EXISTS":
                    raise
        self._origin_ready.add(entity_type_id)
        return name

    def _lookup_params(self, entity_type_id: int, field: str, origin: str) -> dict[str, Any]:
        return {
            "entityTypeId": entity_type_id,
            "select": ["id"],
            "filter": {f"={field}": origin},
            "order": {"id": "ASC"},
            "useOriginalUfNames": "Y",
            "start": -1,
        }

    def find_item(self, entity_type_id: int, origin: str) -> int | None:
        """The id of the item already carrying ``origin``, if a previous attempt created it."""
        field = self.ensure_origin_field(entity_type_id)
        items = rows_of(
            self.client.call("crm.item.list", self._lookup_params(entity_type_id, field, origin)),
            "items",
        )
        return int(items[0]["id"]) if items else None

    def find_items(self, documents: Sequence[Document]) -> dict[int, int]:
        """Existing item ids by document id, looked up by origin in batches of 50 lookups."""
        lookups = []
        for document in documents:
            entity_type_id = self.settings.entity_type_for(document.doc_type)
            field = self.ensure_origin_field(entity_type_id)
            params = self._lookup_params(entity_type_id, field, self.origin_id(document))
            lookups.append(Command(f"find{document.id}", "crm.item.list", params))
        found: dict[int, int] = {}
        for batch in chunks(lookups):
            for result in run_batch(self.client, batch).values():
                items = rows_of(result.unwrap(), "items")
                if items:
                    found[int(result.name.removeprefix("find"))] = int(items[0]["id"])
        return found

    def document_commands(
        self, cabinet: Cabinet, document: Document, item_id: int | None
    ) -> list[Command]:
        """The write of one document: its item (added or updated) and its product rows, the
        rows referring to the new item's id through ``$result``."""
        entity_type_id = self.settings.entity_type_for(document.doc_type)
        fields = self.item_fields(cabinet, document)
        write = f"item{document.id}"
        if item_id is None:
            field = self.ensure_origin_field(entity_type_id)
            fields[field] = self.origin_id(document)
            commands = [
                Command(
                    write,
                    "crm.item.add",
                    {"entityTypeId": entity_type_id, "fields": fields, "useOriginalUfNames": "Y"},
                )
            ]
            owner: Any = ref(write, "item", "id")
        else:
            commands = [
                Command(
                    write,
                    "crm.item.update",
                    {"entityTypeId": entity_type_id, "id": item_id, "fields": fields},
                )
            ]
            owner = item_id
        # A correction's "before" rows describe the corrected invoice, not what is sold now.
        lines = [line for line in document.lines if not line.before]
        commands.append(
            Command(
                f"rows{document.id}",
                "crm.item.productrow.set",
                {
                    "ownerType": owner_type(entity_type_id),
                    "ownerId": owner,
                    "productRows": [
                        product_row(line, document.price_mode, sort=10 * n)
                        for n, line in enumerate(lines, start=1)
                    ],
                },
            )
        )
        return commands

    def push_documents(
        self, cabinet: Cabinet, documents: Sequence[Document]
    ) -> dict[int, int | BitrixError]:
        """Create or update the items of ``documents`` with their product rows: one batch of
        lookups per 50 documents, then 25 documents (item + rows) per batch. The item id of
        each document, or the error that stopped it (the others still go through).

        A write batch that may have run without its answer arriving (a timeout, a 5xx) is
        never resent as it was: the documents are looked up again first, so what was created
        is updated rather than created twice."""
        pending = list(documents)
        outcome: dict[int, int | BitrixError] = {}
        failures = 0
        while pending:
            known = self.find_items(pending)
            groups = [self.document_commands(cabinet, d, known.get(d.id or 0)) for d in pending]
            unsure: list[Document] = []
            by_id = {d.id: d for d in pending}
            for batch in pack(groups, BATCH_LIMIT):
                creates = any(c.method == "crm.item.add" for c in batch)
                try:
                    results = run_batch(self.client, batch, repeatable=not creates)
                except BitrixError as exc:
                    if not exc.transient or failures + 1 >= self.client.retry.attempts:
                        raise
                    unsure.extend(by_id[int(c.name[4:])] for c in batch if c.name[:4] == "item")
                    continue
                for command in batch:
                    if command.name.startswith("item"):
                        document_id = int(command.name.removeprefix("item"))
                        outcome[document_id] = self._written(results, document_id, known)
            pending = unsure
            if pending:
                failures += 1
                self.client.pause(self.client.retry.backoff(failures))
        return outcome

    @staticmethod
    def _written(
        results: Mapping[str, Any], document_id: int, known: Mapping[int, int]
    ) -> int | BitrixError:
        try:
            written = results[f"item{document_id}"].unwrap()
            results[f"rows{document_id}"].unwrap()
        except BitrixError as exc:
            return exc
        return known.get(document_id) or int(written["item"]["id"])

    def push_document(self, cabinet: Cabinet, document: Document) -> int:
        """Create or update the CRM item of ``document`` and set its product rows; returns
        the item id."""
        result = self.push_documents(cabinet, [document])[document.id or 0]
        if isinstance(result, BitrixError):
            raise result
        return result

    def deliver(self, cabinet: Cabinet, message: OutboxMessage) -> None:
        """Push the document a message is about; other messages need nothing from Bitrix24 yet.

        Limits, 5xx answers and timeouts are first retried by the client; once its policy is
        spent they become retryable :class:`DeliveryError`; API errors (4xx) are permanent, as
        retrying the same request cannot succeed.
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
        except AuthError as exc:
            # The app is not installed (yet) on the portal: retry after an installation.
            raise DeliveryError(f"bitrix24: {exc}", retry_after=self.client.retry.max_wait) from exc
